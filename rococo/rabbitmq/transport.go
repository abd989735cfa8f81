package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
)

// ErrClosed is returned by a Transport after Close.
var ErrClosed = errors.New("rabbitmq: transport closed")

// poolSize is how many idle publishing channels a Transport keeps.
const poolSize = 16

// Transport is a rococo.Transport on one AMQP connection.
//
// New does not touch the network: the first Publish or Consume starts a
// connection manager that connects, and from then on reconnects with capped
// exponential backoff whenever the connection drops, until Close. Publish and
// Consume wait (bounded by their ctx) for a connection. A failed first
// connection whose error reconnecting cannot fix (bad credentials, unknown
// virtual host) is returned at once instead.
//
// A Transport is safe for concurrent use.
type Transport struct {
	cfg Config
	log *slog.Logger

	startOnce sync.Once
	closeOnce sync.Once
	closing   chan struct{} // closed by Close: consumers and publishers stop
	stop      chan struct{} // closed by Close after consumers: the manager closes the connection
	done      chan struct{} // closed when the manager has exited
	started   bool          // guarded by mu
	wg        sync.WaitGroup

	mu            sync.Mutex
	conn          *amqp.Connection           // nil while disconnected
	gen           uint64                     // increments on every new connection
	changed       chan struct{}              // closed and replaced on every state change
	lastErr       error                      // why the last attempt failed or the connection dropped
	everConnected bool                       // ever connected
	declared      map[string]bool            // queues declared by publishers on connection gen
	delayQueues   map[string]map[string]bool // consumed queue -> delay queues this transport published to
	consumers     map[*consumer]struct{}
	tags          int

	pool chan *pubChannel
}

var _ rococo.Transport = (*Transport)(nil)

// New returns a Transport for cfg (defaults filled in, see Config). log may
// be nil to discard logs. The password in cfg is never logged.
func New(cfg Config, log *slog.Logger) (*Transport, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Transport{
		cfg:         cfg,
		log:         log.With(slog.String("broker", cfg.Redacted())),
		closing:     make(chan struct{}),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
		changed:     make(chan struct{}),
		declared:    map[string]bool{},
		delayQueues: map[string]map[string]bool{},
		consumers:   map[*consumer]struct{}{},
		pool:        make(chan *pubChannel, poolSize),
	}, nil
}

// start launches the connection manager once.
func (t *Transport) start() {
	t.startOnce.Do(func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		select {
		case <-t.closing:
			return
		default:
		}
		t.started = true
		go t.manage()
	})
}

func (t *Transport) dial() (*amqp.Connection, error) { return t.cfg.dial() }

// dial opens one connection to the broker of c (defaults filled in).
func (c Config) dial() (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(c.ConnectionName)
	conn, err := amqp.DialConfig(c.dialURL(), amqp.Config{
		SASL:       []amqp.Authentication{&amqp.PlainAuth{Username: c.User, Password: c.Password}},
		Vhost:      c.VirtualHost,
		Heartbeat:  c.Heartbeat,
		Locale:     "en_US",
		Properties: props,
		Dial:       amqp.DefaultDial(c.DialTimeout),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.Redacted(), err)
	}
	return conn, nil
}

// manage keeps the transport connected until stop is closed. It logs once
// per state change (connected, lost, first failed attempt), not per try;
// further failed attempts of the same outage are logged at debug level.
func (t *Transport) manage() {
	defer close(t.done)
	delay := t.cfg.ReconnectMin
	failing := false
	for {
		conn, err := t.dial()
		if err != nil {
			t.setState(nil, err)
			if !failing {
				failing = true
				t.log.Warn("rabbitmq connection failed, retrying with backoff", slog.Any("error", err))
			} else {
				t.log.Debug("rabbitmq connection failed again", slog.Any("error", err), slog.Duration("retry_in", delay))
			}
			timer := time.NewTimer(jitter(delay))
			select {
			case <-t.stop:
				timer.Stop()
				return
			case <-timer.C:
			}
			delay = min(delay*2, t.cfg.ReconnectMax)
			continue
		}
		delay = t.cfg.ReconnectMin
		failing = false
		notify := conn.NotifyClose(make(chan *amqp.Error, 1))
		reconnected := t.setState(conn, nil)
		if reconnected {
			t.log.Info("rabbitmq reconnected")
		} else {
			t.log.Info("rabbitmq connected")
		}
		select {
		case <-t.stop:
			t.setState(nil, ErrClosed)
			if err := conn.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
				t.log.Warn("rabbitmq close connection", slog.Any("error", err))
			}
			return
		case amqpErr := <-notify:
			var cause error = errors.New("connection closed")
			if amqpErr != nil {
				cause = amqpErr
			}
			t.setState(nil, fmt.Errorf("connection to %s lost: %w", t.cfg.Redacted(), cause))
			t.log.Warn("rabbitmq connection lost, reconnecting", slog.Any("error", cause))
		}
	}
}

// setState records a new connection (conn != nil) or its absence and wakes
// everyone waiting. It reports whether a connection existed before.
func (t *Transport) setState(conn *amqp.Connection, err error) (wasConnected bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	wasConnected = t.everConnected
	t.conn = conn
	t.lastErr = err
	if conn != nil {
		t.gen++
		t.everConnected = true
		clear(t.declared)
	}
	close(t.changed)
	t.changed = make(chan struct{})
	return wasConnected
}

// connection waits for a live connection, or until ctx ends or Close.
func (t *Transport) connection(ctx context.Context) (*amqp.Connection, uint64, error) {
	t.start()
	for {
		t.mu.Lock()
		conn, gen, changed, lastErr, ever := t.conn, t.gen, t.changed, t.lastErr, t.everConnected
		t.mu.Unlock()
		select {
		case <-t.closing:
			return nil, 0, ErrClosed
		default:
		}
		if conn != nil && !conn.IsClosed() {
			return conn, gen, nil
		}
		if !ever && permanent(lastErr) {
			return nil, 0, lastErr
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return nil, 0, fmt.Errorf("wait for rabbitmq connection: %w (last error: %v)", ctx.Err(), lastErr)
			}
			return nil, 0, fmt.Errorf("wait for rabbitmq connection: %w", ctx.Err())
		case <-t.closing:
			return nil, 0, ErrClosed
		case <-changed:
		}
	}
}

// permanent reports errors that reconnecting cannot fix.
func permanent(err error) bool {
	if errors.Is(err, amqp.ErrCredentials) || errors.Is(err, amqp.ErrVhost) || errors.Is(err, amqp.ErrSASL) {
		return true
	}
	var ae *amqp.Error
	return errors.As(err, &ae) && ae.Code == amqp.AccessRefused
}

// Ready returns nil while the transport is connected and every consumer is
// consuming, else an error that says why not. It does not block.
func (t *Transport) Ready() error {
	select {
	case <-t.closing:
		return ErrClosed
	default:
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started {
		return errors.New("rabbitmq: not connected yet")
	}
	if t.conn == nil || t.conn.IsClosed() {
		if t.lastErr != nil {
			return fmt.Errorf("rabbitmq: not connected: %w", t.lastErr)
		}
		return errors.New("rabbitmq: not connected")
	}
	for c := range t.consumers {
		if err := c.readyErr(); err != nil {
			return err
		}
	}
	return nil
}

// Close cancels every consumer, closes their channels (unsettled deliveries
// go back to their queues), then the publishing channels, then the
// connection. It is safe to call more than once; later calls return nil.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		close(t.closing) // under mu so start sees either closing or started
		t.mu.Unlock()
		t.wg.Wait()
		for len(t.pool) > 0 {
			select {
			case pc := <-t.pool:
				_ = pc.ch.Close()
			default:
			}
		}
		close(t.stop)
		t.mu.Lock()
		started := t.started
		t.mu.Unlock()
		if started {
			<-t.done
		}
	})
	return nil
}

func (t *Transport) nextTag(queue string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tags++
	return fmt.Sprintf("rococo.%s.%d.%d", queue, time.Now().UnixNano(), t.tags)
}

// jitter spreads d by +-20% so reconnecting services do not stampede.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d*4/5 + rand.N(d*2/5+1)
}

// noteDelayQueue remembers that spec, a delay queue, was published to.
func (t *Transport) noteDelayQueue(spec queueSpec) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.delayQueues[spec.owner]
	if m == nil {
		m = map[string]bool{}
		t.delayQueues[spec.owner] = m
	}
	m[spec.name] = true
}

// delayQueuesOf returns the delay queues of queue this transport published
// to.
func (t *Transport) delayQueuesOf(queue string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Sorted(maps.Keys(t.delayQueues[queue]))
}
