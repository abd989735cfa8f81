package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo/leader"
)

// Lock returns a leader.Lock on this configuration's broker: an exclusive
// queue called name, which RabbitMQ lets one connection at a time declare
// and deletes as soon as that connection closes. Nothing connects until
// TryAcquire. It makes FromEnv's configuration a leader.Locker, which the
// host uses to elect one leader among the replicas of a CRON service.
func (e envConfig) Lock(name string, log *slog.Logger) (leader.Lock, error) {
	if !ValidQueueName(name) {
		return nil, fmt.Errorf("rabbitmq lock: invalid queue name %q", name)
	}
	cfg := e.cfg.withDefaults()
	cfg.ConnectionName += " (leader lock)"
	return &queueLock{cfg: cfg, name: name}, nil
}

var _ leader.Locker = envConfig{}

// queueLock is a leader.Lock held through an exclusive queue.
type queueLock struct {
	cfg  Config
	name string
}

func (l *queueLock) String() string { return "rabbitmq exclusive queue " + l.name }

// TryAcquire connects (bounded by DialTimeout) and declares the exclusive
// queue: the broker answers RESOURCE_LOCKED (405) when another connection
// holds it.
func (l *queueLock) TryAcquire(ctx context.Context) (leader.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	conn, err := l.cfg.dial()
	if err != nil {
		return nil, err
	}
	lease := &queueLease{conn: conn, name: l.name, lost: make(chan struct{})}
	ch, err := conn.Channel()
	if err == nil {
		lease.ch = ch
		// Not durable, not auto-deleted: an exclusive queue lives as long
		// as its connection.
		_, err = ch.QueueDeclare(l.name, false, false, true, false, nil)
	}
	if err != nil {
		conn.Close()
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.ResourceLocked {
			return nil, fmt.Errorf("%s: %w", l, leader.ErrHeld)
		}
		return nil, fmt.Errorf("declare %s: %w", l, err)
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	go func() {
		select {
		case <-closed:
		case <-chClosed:
		}
		lease.markLost()
	}()
	return lease, nil
}

// queueLease holds the connection that owns the exclusive queue.
type queueLease struct {
	conn *amqp.Connection
	ch   *amqp.Channel
	name string

	once sync.Once
	lost chan struct{}
}

func (q *queueLease) markLost() { q.once.Do(func() { close(q.lost) }) }

// Lost is closed when the connection or channel holding the queue closes.
func (q *queueLease) Lost() <-chan struct{} { return q.lost }

// Check declares the queue passively: it succeeds while this connection
// still owns it. amqp091 calls take no ctx; a call still blocked when ctx
// ends returns when the heartbeat closes the connection.
func (q *queueLease) Check(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		_, err := q.ch.QueueDeclarePassive(q.name, false, false, true, false, nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("check lock queue %s: %w", q.name, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("check lock queue %s: %w", q.name, ctx.Err())
	}
}

// Release closes the connection, which deletes the queue.
func (q *queueLease) Release() error {
	err := closeConn(q.conn)
	q.markLost()
	return err
}
