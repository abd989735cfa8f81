// Package lib provides the business logic of the cleanup_cron example
// service: removing the files of a directory that are older than a maximum
// age, such as an upload or export area that nobody else cleans.
package lib
