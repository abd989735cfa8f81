package rococo

import (
	"context"
	"log/slog"
)

// MessageProcessor handles messages (EXECUTION_TYPE=MESSAGING), the Go
// counterpart of Python's BaseServiceProcessor.
//
// Process is called concurrently from up to RABBITMQ_NUM_THREADS (or
// SQS_NUM_THREADS) goroutines, so it must be safe for concurrent use. A nil
// error acknowledges the message. Any other error, or a panic, makes the
// runtime retry the message with backoff and dead-letter it after
// MAX_RETRIES attempts; an error wrapped with Permanent dead-letters it at
// once. ctx is cancelled when the shutdown timeout expires.
type MessageProcessor interface {
	Process(ctx context.Context, msg *Message) error
}

// CronProcessor is called on a schedule (EXECUTION_TYPE=CRON). Runs never
// overlap. An error or panic is logged, counted and reported, and the
// schedule goes on. ctx is cancelled when the shutdown timeout expires.
type CronProcessor interface {
	Process(ctx context.Context) error
}

// MessageProcessorFunc adapts a function to MessageProcessor.
type MessageProcessorFunc func(ctx context.Context, msg *Message) error

// Process calls f(ctx, msg).
func (f MessageProcessorFunc) Process(ctx context.Context, msg *Message) error { return f(ctx, msg) }

// CronProcessorFunc adapts a function to CronProcessor.
type CronProcessorFunc func(ctx context.Context) error

// Process calls f(ctx).
func (f CronProcessorFunc) Process(ctx context.Context) error { return f(ctx) }

// Initializer is implemented by processors that need set-up before the first
// message or run: open a database, keep the Publisher. The host calls Init
// once, after the environment was validated and before consuming or
// scheduling starts; an error stops the service with exit status 1.
type Initializer interface {
	Init(ctx context.Context, rt Runtime) error
}

// Runtime is what the host gives an Initializer.
type Runtime struct {
	// Logger is the service's logger.
	Logger *slog.Logger
	// Publisher sends messages on the service's broker. It is nil when
	// MESSAGING_TYPE is unset (a cron service with no broker).
	Publisher Publisher
}

// Processors that also implement io.Closer are closed by the host after
// consuming or scheduling stopped and in-flight work finished (the
// counterpart of Band's cleanup hooks).

// Handler is the function form of a message processor that middleware wraps,
// as net/http wraps a Handler.
type Handler func(ctx context.Context, msg *Message) error

// Middleware wraps a Handler with behaviour of its own (metrics, panic
// recovery, error reporting). The first middleware in a chain runs
// outermost.
type Middleware func(next Handler) Handler

// Chain wraps h with mws, the first one outermost.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
