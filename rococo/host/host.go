package host

import (
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

// Version is the version of the service host (the Rococo runtime), printed
// as "Rococo Service Host Version: X" like Python's rococo-service-host.
const Version = "0.1.0"

// TransportFactory reads and checks the variables of one MESSAGING_TYPE's
// transport (RABBITMQ_*, AWS_*, ...) from the service's configuration
// (cfg.Env, cfg.ConsumeFile) together with the queue it consumes
// (cfg.QueueName, "" for a service that only publishes), before anything
// connects. Errors are *config.Error: the service exits with status 2.
// rabbitmq.FromEnv and sqs.FromEnv have this type.
type TransportFactory func(cfg *config.Config) (rococo.TransportConfig, error)

// Info describes the service binary.
type Info struct {
	// Name, Version and Commit identify the service (common/version); an
	// empty Name means the executable's name.
	Name, Version, Commit string
	// Transports maps a MESSAGING_TYPE (RabbitMqConnection, SqsConnection)
	// to its factory. A MESSAGING_TYPE with no factory is a configuration
	// error (exit 2).
	Transports map[string]TransportFactory
}

// Timeouts of the health server (which also serves a band service's
// handlers).
const (
	readHeaderTimeout = 5 * time.Second
	idleTimeout       = 2 * time.Minute
	httpShutdown      = 5 * time.Second
)
