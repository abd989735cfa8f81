// Package report provides error reporting for processor failures: the
// Reporter interface, Nop, a Rollbar reporter built on a rollbar-go client of
// its own (never the package-level client), PanicError for recovered panics
// with their stack, and Middleware, which reports every failed attempt.
package report
