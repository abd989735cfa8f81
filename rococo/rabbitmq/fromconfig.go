package rabbitmq

import (
	"context"
	"log/slog"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

// FromConfig returns the Transport for the service configuration
// (RABBITMQ_HOST, RABBITMQ_PORT, RABBITMQ_USER, RABBITMQ_PASSWORD,
// RABBITMQ_VIRTUAL_HOST). It matches host.TransportFactory. It does not
// connect: the first Consume or Publish does (see Transport); ctx is unused.
func FromConfig(_ context.Context, cfg *config.Config, log *slog.Logger) (rococo.Transport, error) {
	name := "rococo"
	if cfg.ProcessorType != "" {
		name = "rococo " + cfg.ProcessorType
	}
	return New(Config{
		Host:           cfg.RabbitMQ.Host,
		Port:           cfg.RabbitMQ.Port,
		User:           cfg.RabbitMQ.User,
		Password:       cfg.RabbitMQ.Password.Reveal(),
		VirtualHost:    cfg.RabbitMQ.VirtualHost,
		ConnectionName: name,
	}, log)
}
