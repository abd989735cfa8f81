package rabbitmq

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

// MessagingType is the MESSAGING_TYPE that selects this transport, as Python
// rococo names it.
const MessagingType = config.RabbitMQ

// maxQueueName is the longest queue name accepted: AMQP names hold 255
// bytes, and the transport adds its suffixes (RetrySuffix and a delay,
// rococo.DeadLetterSuffix) to name the queues that go with it.
const maxQueueName = 200

// FromEnv reads and checks the transport's own variables, RABBITMQ_HOST
// (default localhost), RABBITMQ_PORT (5672), RABBITMQ_USER (guest),
// RABBITMQ_PASSWORD (guest), RABBITMQ_VIRTUAL_HOST (/) and
// RABBITMQ_NUM_THREADS (1: messages processed at once), from the service's
// environment, and the name of the queue the service consumes. Errors are
// *config.Error. Nothing connects. It has the type of host.TransportFactory.
func FromEnv(c *config.Config) (rococo.TransportConfig, error) {
	env := c.Env()
	var err error
	e := envConfig{cfg: Config{ConnectionName: "rococo"}}
	if c.ProcessorType != "" {
		e.cfg.ConnectionName = "rococo " + c.ProcessorType
		e.cfg.QueueVariable = c.ProcessorType + "_QUEUE_NAME"
	}
	e.cfg.MaxDeliveries = c.MaxRetries
	e.cfg.Host = env.String("RABBITMQ_HOST", "localhost")
	if !config.ValidHost(e.cfg.Host) && net.ParseIP(e.cfg.Host) == nil {
		return nil, env.Error("RABBITMQ_HOST", "a host name or IP address")
	}
	if e.cfg.Port, err = env.IntRange("RABBITMQ_PORT", 5672, 1, 65535, "a port number 1-65535"); err != nil {
		return nil, err
	}
	e.cfg.User = env.String("RABBITMQ_USER", "guest")
	if e.cfg.Password = env.Get("RABBITMQ_PASSWORD"); e.cfg.Password == "" {
		e.cfg.Password = "guest" // as Python rococo's default; read raw: a password may have spaces
	}
	e.cfg.VirtualHost = env.String("RABBITMQ_VIRTUAL_HOST", "/")
	if e.threads, err = env.IntRange("RABBITMQ_NUM_THREADS", 1, 1, 1024, "a whole number of messages processed at once, 1-1024"); err != nil {
		return nil, err
	}
	if c.MaxRetryBackoff > maxDelay {
		// A delay queue's x-message-ttl holds at most maxDelay: a longer
		// retry would come back early.
		return nil, env.Error("RETRY_BACKOFF_MAX", "a duration of at most 1193h (about 49 days, RabbitMQ's longest message TTL, which a retry waits in)")
	}
	if q := c.QueueName; q != "" && !ValidQueueName(q) {
		return nil, c.QueueError("a RabbitMQ queue name of 1-200 bytes of UTF-8 without control characters, not starting with amq.")
	}
	return e, nil
}

// ValidQueueName reports whether queue can be consumed by this transport: a
// name RabbitMQ accepts for it and for the queues that go with it.
func ValidQueueName(queue string) bool {
	if queue == "" || len(queue) > maxQueueName || !utf8.ValidString(queue) || strings.HasPrefix(queue, "amq.") {
		return false
	}
	return !strings.ContainsFunc(queue, func(r rune) bool { return r < ' ' || r == 0x7f })
}

// envConfig is the rococo.TransportConfig FromEnv returns.
type envConfig struct {
	cfg     Config
	threads int
}

// Concurrency returns RABBITMQ_NUM_THREADS.
func (e envConfig) Concurrency() int { return e.threads }

// Open returns the Transport; it connects on the first Consume or Publish.
func (e envConfig) Open(_ context.Context, log *slog.Logger) (rococo.Transport, error) {
	return New(e.cfg, log)
}

// LogValue logs the broker address without the password, and the
// concurrency.
func (e envConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("broker", e.cfg.Redacted()), slog.Int("num_threads", e.threads))
}
