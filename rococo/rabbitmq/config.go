package rabbitmq

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config says how to reach the broker. The zero value of every field means
// its default, so Config{} connects to guest:guest@localhost:5672, vhost "/".
type Config struct {
	// Host is the broker host (RABBITMQ_HOST). Default "localhost".
	Host string
	// Port is the AMQP port (RABBITMQ_PORT). Default 5672.
	Port int
	// User is the user name (RABBITMQ_USER). Default "guest".
	User string
	// Password is the password (RABBITMQ_PASSWORD). Default "guest". It is
	// never logged nor put in an error.
	Password string
	// VirtualHost is the virtual host (RABBITMQ_VIRTUAL_HOST). Default "/".
	VirtualHost string
	// ConnectionName is shown by the broker's management tools. Default
	// "rococo".
	ConnectionName string
	// Heartbeat is the AMQP heartbeat interval. Default 10s.
	Heartbeat time.Duration
	// DialTimeout bounds one TCP connect plus AMQP handshake. Default 10s.
	DialTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the exponential backoff between
	// connection attempts. Defaults 250ms and 30s.
	ReconnectMin, ReconnectMax time.Duration
	// MaxDeliveries is how many deliveries a message gets whose consumer
	// dies holding it each time (a crash loop) before it is dead-lettered:
	// MAX_RETRIES, as FromEnv sets it. 0 means no limit.
	MaxDeliveries int
	// QueueVariable names the variable that set the consumed queue, for
	// the configuration errors about the queues that go with it. Default
	// "QUEUE_NAME"; FromEnv sets <PROCESSOR_TYPE>_QUEUE_NAME.
	QueueVariable string
	// ExitIdle is how long a consumer with ExitWhenFinished waits without a
	// delivery before it checks whether its queue is empty. Default 1s.
	ExitIdle time.Duration
}

func (c Config) withDefaults() Config {
	if c.Host == "" {
		c.Host = "localhost"
	}
	if c.Port == 0 {
		c.Port = 5672
	}
	if c.User == "" {
		c.User = "guest"
	}
	if c.Password == "" && c.User == "guest" {
		c.Password = "guest"
	}
	if c.VirtualHost == "" {
		c.VirtualHost = "/"
	}
	if c.ConnectionName == "" {
		c.ConnectionName = "rococo"
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 10 * time.Second
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = 250 * time.Millisecond
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = 30 * time.Second
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.QueueVariable == "" {
		c.QueueVariable = "QUEUE_NAME"
	}
	if c.ExitIdle <= 0 {
		c.ExitIdle = time.Second
	}
	return c
}

func (c Config) validate() error {
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("rabbitmq: invalid port %d: want 1-65535", c.Port)
	}
	if strings.ContainsAny(c.Host, "/@ ") {
		return fmt.Errorf("rabbitmq: invalid host %q", c.Host)
	}
	return nil
}

// dialURL returns the AMQP URL to dial: host and port only. Credentials and
// the virtual host go in amqp.Config, so no URL ever holds the password.
func (c Config) dialURL() string {
	return "amqp://" + net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) + "/"
}

// Redacted returns the AMQP URL (defaults filled in) with the password
// replaced by "xxxxx", for logs and errors.
func (c Config) Redacted() string {
	c = c.withDefaults()
	return "amqp://" + url.User(c.User).String() + ":xxxxx@" +
		net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) + "/" + url.PathEscape(c.VirtualHost)
}

// String returns Redacted, so printing a Config never shows the password.
func (c Config) String() string { return c.Redacted() }

// GoString returns Redacted, for %#v.
func (c Config) GoString() string { return c.Redacted() }

// LogValue logs the connection target without the password.
func (c Config) LogValue() slog.Value {
	return slog.StringValue(c.Redacted())
}
