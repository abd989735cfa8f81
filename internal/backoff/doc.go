// Package backoff provides the runtime's one capped exponential backoff with
// jitter, used for message retries, reconnects and polling after errors.
package backoff
