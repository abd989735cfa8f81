// Package rococotest provides an in-memory rococo.Transport for tests and
// benchmarks, inspection helpers for its queues, and RequireBroker, which
// skips (or, on CI, fails) an integration test whose broker is not running.
//
// The Transport has no global state: every NewTransport is a broker of its
// own. Retries honour their delay with time.AfterFunc, so a retried message
// never blocks other deliveries.
package rococotest
