package bus

import "context"

// CallHandler answers one call: body is the request, the returned bytes
// the reply. A returned error reaches the caller as a *CallError. ctx ends
// at the caller's deadline.
type CallHandler func(ctx context.Context, body []byte) ([]byte, error)

// Bus carries Band's events, calls and announcements. Implementations are
// safe for concurrent use.
type Bus interface {
	// Publish sends ev to the events exchange with routing key ev.Key and
	// returns once the broker has confirmed it (it is then in every bound
	// listener queue).
	Publish(ctx context.Context, ev Event) error

	// Call sends body to one replica of service's function and waits for its
	// reply. The request expires with ctx's deadline (ErrNoDeadline without
	// one); ErrNoRoute comes at once when no replica consumes; the
	// function's error comes back as a *CallError.
	Call(ctx context.Context, service, function string, body []byte) ([]byte, error)

	// Serve answers Calls to service's function with h until ctx ends;
	// replicas serving the same function compete, each request reaching
	// one. A request whose deadline has passed is dropped unanswered.
	// Serve returns nil when ctx ends, an error when it cannot serve.
	Serve(ctx context.Context, service, function string, h CallHandler) error

	// Announce sends one announcement (a Band service's /status document)
	// to every watcher. The caller repeats it every announce period.
	Announce(ctx context.Context, doc []byte) error

	// Watch calls f with every announcement sent from now on, one at a time,
	// until ctx ends; it returns nil then, an error when it cannot watch.
	Watch(ctx context.Context, f func(doc []byte)) error
}
