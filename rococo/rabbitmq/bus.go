package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/internal/backoff"
	"github.com/rococo-go/rococo/rococo/bus"
)

// Default names of the Band bus's exchanges.
const (
	DefaultEventsExchange   = "band.events"   // durable topic exchange of the events
	DefaultRegistryExchange = "band.registry" // fanout exchange of the announcements
	// CallQueuePrefix starts the queue of a function served with Serve:
	// "band.call.<service>.<function>".
	CallQueuePrefix = "band.call."
)

// BusOptions names what the Bus declares. The zero value uses the defaults.
type BusOptions struct {
	// EventsExchange is the durable topic exchange events are published to
	// and listener queues are bound on. Default DefaultEventsExchange.
	EventsExchange string
	// RegistryExchange is the fanout exchange of the announcements. Default
	// DefaultRegistryExchange.
	RegistryExchange string
	// ServeConcurrency is how many calls one Serve answers at once (its
	// prefetch). Default 32.
	ServeConcurrency int
}

// Bus is bus.Bus on RabbitMQ, on a connection of its own that it reopens
// after a loss. Events go to a durable topic exchange as persistent messages
// with publisher confirms. A call is a transient message to the function's
// queue (auto-deleted when its last replica stops), published mandatory, so
// that a call nobody serves comes back at once (bus.ErrNoRoute), with the
// caller's remaining deadline as its expiration; the reply comes on direct
// reply-to with the call's correlation id. Announcements go to a fanout
// exchange; each watcher has an exclusive queue bound to it.
type Bus struct {
	cfg  Config
	opts BusOptions
	log  *slog.Logger

	mu     sync.Mutex
	conn   *amqp.Connection
	closed bool
	pub    *confirmChannel // events and announcements
	rpc    *rpcChannel     // calls and their replies
}

var _ bus.Bus = (*Bus)(nil)

// ErrBusClosed is returned by the Bus's methods after Close.
var ErrBusClosed = errors.New("rabbitmq bus: closed")

// NewBus returns a Bus on cfg's broker; it connects on first use.
func NewBus(cfg Config, opts BusOptions, log *slog.Logger) (*Bus, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if opts.EventsExchange == "" {
		opts.EventsExchange = DefaultEventsExchange
	}
	if opts.RegistryExchange == "" {
		opts.RegistryExchange = DefaultRegistryExchange
	}
	if opts.ServeConcurrency <= 0 {
		opts.ServeConcurrency = 32
	}
	if log == nil {
		log = slog.Default()
	}
	cfg.ConnectionName += " (band bus)"
	return &Bus{cfg: cfg, opts: opts, log: log.With(slog.String("component", "band bus"))}, nil
}

// Close closes the connection: pending calls fail, Serve and Watch return.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.conn != nil {
		err := closeConn(b.conn)
		b.conn = nil
		if err != nil {
			return fmt.Errorf("rabbitmq bus: close: %w", err)
		}
	}
	return nil
}

// connection returns the open connection, dialing when there is none (or
// it was lost). b.mu held.
func (b *Bus) connection(ctx context.Context) (*amqp.Connection, error) {
	if b.closed {
		return nil, ErrBusClosed
	}
	if b.conn != nil && !b.conn.IsClosed() {
		return b.conn, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	conn, err := b.cfg.dial()
	if err != nil {
		return nil, err
	}
	b.conn = conn
	return conn, nil
}

// channel opens a channel on the current connection.
func (b *Bus) channel(ctx context.Context) (*amqp.Channel, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.openChannel(ctx)
}

// openChannel opens a channel on the current connection, dialing when there
// is none. b.mu held.
func (b *Bus) openChannel(ctx context.Context) (*amqp.Channel, error) {
	conn, err := b.connection(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open a channel on %s: %w", b.cfg.Redacted(), err)
	}
	return ch, nil
}

// declareExchanges declares the events and registry exchanges on ch.
func (b *Bus) declareExchanges(ch *amqp.Channel) error {
	if err := ch.ExchangeDeclare(b.opts.EventsExchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %q: %w", b.opts.EventsExchange, err)
	}
	if err := ch.ExchangeDeclare(b.opts.RegistryExchange, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %q: %w", b.opts.RegistryExchange, err)
	}
	return nil
}

// retry runs session until ctx ends, opening a new channel after each loss
// with capped backoff. session returns when its channel is gone (or ctx
// ended); a session that ran for a while resets the backoff.
func (b *Bus) retry(ctx context.Context, what string, session func(ctx context.Context, ch *amqp.Channel) error) error {
	policy := backoff.Policy{Base: b.cfg.ReconnectMin, Max: b.cfg.ReconnectMax, Jitter: 0.2}
	for n := 1; ; n++ {
		start := time.Now()
		ch, err := b.channel(ctx)
		if err == nil {
			err = session(ctx, ch)
			_ = ch.Close()
		}
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrBusClosed) {
			return err
		}
		if time.Since(start) > b.cfg.ReconnectMax {
			n = 1
		}
		d := policy.Delay(n)
		b.log.Warn(what+": lost the broker, retrying", slog.Any("error", err), slog.Duration("delay", d))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d):
		}
	}
}
