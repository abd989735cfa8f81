// Package report provides error reporting for processor failures: the
// Reporter interface, Nop, a Rollbar reporter built on a rollbar-go client of
// its own (never the package-level client), PanicError for recovered panics
// with their stack, and Middleware, which reports every failed attempt.
//
// The Rollbar reporter sends in the background; each request times out
// after DefaultRollbarTimeout, and Close waits for queued reports for at
// most the service's SHUTDOWN_TIMEOUT (WithCloseTimeout), so an endpoint
// that accepts connections and never answers cannot hang a shutdown.
package report
