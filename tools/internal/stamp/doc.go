// Package stamp provides the reading of Bazel's workspace status files and
// the substitution of their values into {KEY} placeholders, for the image
// builder (labels, annotations, the created time) and the push tool (tags,
// the repository).
//
// Without --stamp the rules pass no status files, so a placeholder has no
// value: Substitute reports that, and the caller leaves the value out,
// which keeps unstamped builds reproducible.
package stamp
