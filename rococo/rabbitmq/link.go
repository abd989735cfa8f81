package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// link is one AMQP connection kept up by a manager goroutine: the
// transport has one to consume on and one to publish on, so that a broker
// that blocks publishers (memory or disk alarm) never stops the consumer
// from receiving and acking.
type link struct {
	t    *Transport
	name string // "consume" or "publish", for logs and errors
	cfg  Config
	log  *slog.Logger
	done chan struct{} // closed when the manager has exited

	mu            sync.Mutex
	conn          *amqp.Connection // nil while disconnected
	gen           uint64           // increments on every new connection
	changed       chan struct{}    // closed and replaced on every state change
	lastErr       error            // why the last attempt failed or the connection dropped
	everConnected bool
	blocked       string          // the broker's reason while it blocks this connection, else ""
	unblocked     chan struct{}   // closed while not blocked; replaced when blocked
	blockedNow    chan struct{}   // closed while blocked; replaced when unblocked
	declared      map[string]bool // queues declared on connection gen
}

func newLink(t *Transport, name string, cfg Config) *link {
	cfg.ConnectionName += " (" + name + ")"
	unblocked := make(chan struct{})
	close(unblocked)
	return &link{
		blockedNow: make(chan struct{}),
		t:          t,
		name:       name,
		cfg:        cfg,
		log:        t.log.With(slog.String("connection", name)),
		done:       make(chan struct{}),
		changed:    make(chan struct{}),
		unblocked:  unblocked,
		declared:   map[string]bool{},
	}
}

// closeTimeout bounds the wait for the broker's answer to a connection's
// close: a broker that blocks a publishing connection (a memory or disk
// alarm) stops reading from it and never answers.
const closeTimeout = 5 * time.Second

// closeConn closes conn, waiting at most closeTimeout for the broker; past
// it the socket is closed without the answer. amqp.ErrClosed (closed
// already) is nil.
func closeConn(conn *amqp.Connection) error {
	if err := conn.CloseDeadline(time.Now().Add(closeTimeout)); err != nil && !errors.Is(err, amqp.ErrClosed) {
		return err
	}
	return nil
}

// manage keeps the link connected until the transport's stop is closed. It
// logs once per state change (connected, lost, first failed attempt), not
// per try; further failed attempts of the same outage are logged at debug
// level.
func (l *link) manage() {
	defer close(l.done)
	delay := l.cfg.ReconnectMin
	failing := false
	for {
		conn, err := l.cfg.dial()
		if err != nil {
			l.setState(nil, err)
			if !failing {
				failing = true
				l.log.Warn("rabbitmq connection failed, retrying with backoff", slog.Any("error", err))
			} else {
				l.log.Debug("rabbitmq connection failed again", slog.Any("error", err), slog.Duration("retry_in", delay))
			}
			timer := time.NewTimer(jitter(delay))
			select {
			case <-l.t.stop:
				timer.Stop()
				return
			case <-timer.C:
			}
			delay = min(delay*2, l.cfg.ReconnectMax)
			continue
		}
		delay = l.cfg.ReconnectMin
		failing = false
		notify := conn.NotifyClose(make(chan *amqp.Error, 1))
		blocks := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
		if l.setState(conn, nil) {
			l.log.Info("rabbitmq reconnected")
		} else {
			l.log.Info("rabbitmq connected")
		}
		if lost := l.watch(conn, notify, blocks); !lost {
			return
		}
	}
}

// watch follows conn until it closes (true) or the transport stops (false).
func (l *link) watch(conn *amqp.Connection, notify chan *amqp.Error, blocks chan amqp.Blocking) (lost bool) {
	for {
		select {
		case <-l.t.stop:
			l.setState(nil, ErrClosed)
			if err := closeConn(conn); err != nil {
				l.log.Warn("rabbitmq close connection", slog.Any("error", err))
			}
			return false
		case b, ok := <-blocks:
			if !ok {
				blocks = nil // closed with the connection; notify reports it
				continue
			}
			l.setBlocked(b)
		case amqpErr := <-notify:
			var cause error = errors.New("connection closed")
			if amqpErr != nil {
				cause = amqpErr
			}
			l.setState(nil, fmt.Errorf("%s connection to %s lost: %w", l.name, l.cfg.Redacted(), cause))
			l.log.Warn("rabbitmq connection lost, reconnecting", slog.Any("error", cause))
			return true
		}
	}
}

// setBlocked records connection.blocked and connection.unblocked.
func (l *link) setBlocked(b amqp.Blocking) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case b.Active && l.blocked == "":
		l.blocked = b.Reason
		if l.blocked == "" {
			l.blocked = "no reason given"
		}
		l.unblocked = make(chan struct{})
		close(l.blockedNow)
		l.log.Warn("rabbitmq broker blocks this connection", slog.String("reason", l.blocked))
	case !b.Active && l.blocked != "":
		l.unblock()
		l.log.Info("rabbitmq broker unblocked this connection")
	}
}

// unblock ends a blocked period; l.mu is held.
func (l *link) unblock() {
	l.blocked = ""
	close(l.unblocked)
	l.blockedNow = make(chan struct{})
}

// setState records a new connection (conn != nil) or its absence and wakes
// everyone waiting. It reports whether a connection existed before. A new
// connection starts unblocked.
func (l *link) setState(conn *amqp.Connection, err error) (wasConnected bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	wasConnected = l.everConnected
	l.conn = conn
	l.lastErr = err
	if conn != nil {
		l.gen++
		l.everConnected = true
		clear(l.declared)
	}
	if l.blocked != "" {
		l.unblock()
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return wasConnected
}

// connection waits for a live connection, or until ctx ends or the
// transport closes. A first connection that failed with an error that
// reconnecting cannot fix is returned at once (see permanent).
func (l *link) connection(ctx context.Context) (*amqp.Connection, uint64, error) {
	l.t.start()
	for {
		l.mu.Lock()
		conn, gen, changed, lastErr, ever := l.conn, l.gen, l.changed, l.lastErr, l.everConnected
		l.mu.Unlock()
		select {
		case <-l.t.closing:
			return nil, 0, ErrClosed
		default:
		}
		if conn != nil && !conn.IsClosed() {
			return conn, gen, nil
		}
		if !ever && permanent(lastErr) {
			return nil, 0, l.t.permanentError(lastErr)
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return nil, 0, fmt.Errorf("wait for rabbitmq connection: %w (last error: %v)", ctx.Err(), lastErr)
			}
			return nil, 0, fmt.Errorf("wait for rabbitmq connection: %w", ctx.Err())
		case <-l.t.closing:
			return nil, 0, ErrClosed
		case <-changed:
		}
	}
}

// current returns the connection and its generation (nil while down).
func (l *link) current() (*amqp.Connection, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn, l.gen
}

// blockedState returns the broker's reason while it blocks the connection
// (else ""), a channel closed once it no longer does, and one closed once it
// does.
func (l *link) blockedState() (reason string, unblocked, blocked <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.blocked, l.unblocked, l.blockedNow
}

// readyErr says why the link is not usable, or nil.
func (l *link) readyErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil || l.conn.IsClosed() {
		if l.lastErr != nil {
			return fmt.Errorf("rabbitmq: %s connection down: %w", l.name, l.lastErr)
		}
		return fmt.Errorf("rabbitmq: %s connection down", l.name)
	}
	if l.blocked != "" {
		return fmt.Errorf("rabbitmq: broker blocks the %s connection: %s", l.name, l.blocked)
	}
	return nil
}

// isDeclared reports whether queue was declared on connection gen.
func (l *link) isDeclared(queue string, gen uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.declared[queue] && l.gen == gen
}

func (l *link) setDeclared(queue string, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gen == gen {
		l.declared[queue] = true
	}
}

func (l *link) forgetDeclared(queue string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.declared, queue)
}
