// Package router provides the messaging loop of the Rococo runtime: it
// consumes one queue through a rococo.Transport with a fixed number of
// workers, runs each message through the middleware chain and the
// processor, and settles it — ack on success, retry with exponential backoff
// and jitter on failure, dead-letter for invalid JSON, permanent errors and
// messages out of attempts — then drains in-flight work on shutdown.
//
// See README.md for the model, the decision table and benchmark figures.
package router
