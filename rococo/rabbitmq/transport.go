package rabbitmq

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

// ErrClosed is returned by a Transport after Close.
var ErrClosed = errors.New("rabbitmq: transport closed")

// poolSize is how many idle publishing channels a Transport keeps.
const poolSize = 16

// Transport is a rococo.Transport on two AMQP connections: consumers
// receive and settle on one, and everything published (Publish, and the
// copies Retry, Release and DeadLetter move) goes on the other, so a broker
// that blocks publishing connections during a resource alarm never stops
// consuming and acking.
//
// New does not touch the network: the first Publish or Consume starts a
// connection manager per connection that connects, and from then on
// reconnects with capped exponential backoff whenever the connection drops,
// until Close. Publish and Consume wait (bounded by their ctx) for a
// connection. A failed first connection whose error reconnecting cannot fix
// (bad credentials, unknown virtual host, access refused) is returned at
// once instead, as a *config.Error naming the setting.
//
// A Transport is safe for concurrent use.
type Transport struct {
	cfg Config
	log *slog.Logger

	consumeLink, publishLink *link

	startOnce sync.Once
	closeOnce sync.Once
	closing   chan struct{} // closed by Close: consumers and publishers stop
	stop      chan struct{} // closed by Close after consumers: the managers close the connections
	started   bool          // guarded by mu
	wg        sync.WaitGroup

	mu          sync.Mutex
	delayQueues map[string]map[string]bool // consumed queue -> delay queues this transport published to
	consumers   map[*consumer]struct{}
	tags        int

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
	t := &Transport{
		cfg:         cfg,
		log:         log.With(slog.String("broker", cfg.Redacted())),
		closing:     make(chan struct{}),
		stop:        make(chan struct{}),
		delayQueues: map[string]map[string]bool{},
		consumers:   map[*consumer]struct{}{},
		pool:        make(chan *pubChannel, poolSize),
	}
	t.consumeLink = newLink(t, "consume", cfg)
	t.publishLink = newLink(t, "publish", cfg)
	return t, nil
}

// start launches the connection managers once.
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
		go t.consumeLink.manage()
		go t.publishLink.manage()
	})
}

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

// Blocked reports whether the broker blocks the publishing connection (a
// memory or disk alarm): moves fail at once meanwhile and Publish waits.
func (t *Transport) Blocked() bool {
	reason, _, _ := t.publishLink.blockedState()
	return reason != ""
}

// permanent reports errors that reconnecting cannot fix: a refused login,
// and a virtual host that does not exist or that the user may not access
// (RabbitMQ answers connection.open with 530 NOT_ALLOWED; a reached
// connection limit, which can pass, is not permanent).
func permanent(err error) bool {
	var ae *amqp.Error
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Code {
	case amqp.AccessRefused:
		return true
	case amqp.NotAllowed:
		return strings.Contains(ae.Reason, "vhost") && !strings.Contains(ae.Reason, "limit")
	}
	return false
}

// permanentError turns a permanent error into the *config.Error that names
// the setting to fix.
func (t *Transport) permanentError(err error) error {
	var ae *amqp.Error
	errors.As(err, &ae)
	reason := strings.Join(strings.Fields(ae.Reason), " ")
	if ae.Code == amqp.NotAllowed || errors.Is(err, amqp.ErrVhost) || strings.Contains(reason, "vhost") {
		return &config.Error{Var: "RABBITMQ_VIRTUAL_HOST", Value: t.cfg.VirtualHost,
			Accepted: fmt.Sprintf("a virtual host that exists on %s:%d and that RABBITMQ_USER=%q may access (the broker said: %s)", t.cfg.Host, t.cfg.Port, t.cfg.User, reason)}
	}
	return &config.Error{Var: "RABBITMQ_USER", Value: t.cfg.User,
		Accepted: fmt.Sprintf("a user that %s:%d accepts with RABBITMQ_PASSWORD (the broker refused the login: %s)", t.cfg.Host, t.cfg.Port, reason)}
}

// Ready returns nil while both connections are up, the broker does not
// block publishing and every consumer is consuming, else an error that says
// why not. It does not block.
func (t *Transport) Ready() error {
	select {
	case <-t.closing:
		return ErrClosed
	default:
	}
	t.mu.Lock()
	started := t.started
	t.mu.Unlock()
	if !started {
		return errors.New("rabbitmq: not connected yet")
	}
	if err := t.consumeLink.readyErr(); err != nil {
		return err
	}
	if err := t.publishLink.readyErr(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.consumers {
		if err := c.readyErr(); err != nil {
			return err
		}
	}
	return nil
}

// Close cancels every consumer, closes their channels (unsettled deliveries
// go back to their queues), then both connections, which close the
// publishing channels with them: a channel's own close would wait forever
// on a connection the broker blocks. The broker's answer to each
// connection's close is awaited for at most 5 seconds. It is safe to call
// more than once; later calls return nil.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		close(t.closing) // under mu so start sees either closing or started
		t.mu.Unlock()
		t.wg.Wait()
		close(t.stop)
		t.mu.Lock()
		started := t.started
		t.mu.Unlock()
		if started {
			<-t.consumeLink.done
			<-t.publishLink.done
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
