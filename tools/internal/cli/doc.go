// Package cli provides what the repository's command-line tools share for
// their flags: a repeatable string flag.
package cli
