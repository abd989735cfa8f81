package bus

import (
	"context"
	"log/slog"

	"github.com/rococo-go/rococo/rococo/config"
)

// Opener is a transport configuration whose broker also carries the bus
// (RabbitMQ's: rabbitmq.FromEnv's configuration). The service host opens
// the bus of a Band service with it. SQS has no topic routing and no
// Opener.
type Opener interface {
	// OpenBus returns a Bus on the broker, reading its own variables
	// (errors are *config.Error); it connects on first use.
	OpenBus(env config.Env, log *slog.Logger) (Bus, error)
}

// Binder is a Bus that binds listener queues: a durable queue that
// receives every event whose key matches one of patterns, and keeps them
// while nobody consumes.
type Binder interface {
	Bind(ctx context.Context, queue string, patterns []Pattern) error
}
