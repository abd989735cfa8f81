// Package common provides what every service shares: Main, the one line a
// service's main calls, and the subpackages logger, appconfig and version.
// Users add their own shared code under common/.
package common
