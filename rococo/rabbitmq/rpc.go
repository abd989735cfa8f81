package rabbitmq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo/bus"
)

const (
	replyTo        = "amq.rabbitmq.reply-to" // RabbitMQ's direct reply-to
	headerDeadline = "x-band-deadline"       // a call's deadline, Unix milliseconds
	headerError    = "x-band-error"          // on a reply: the function's error
)

// CallQueue returns the queue the replicas of service's function consume
// calls from.
func CallQueue(service, function string) string {
	return CallQueuePrefix + service + "." + function
}

type callResult struct {
	body     []byte
	failure  string // the function's error
	failed   bool
	returned bool  // came back unroutable
	lost     error // the channel closed before the reply
}

// rpcChannel is the channel calls are published on and their replies
// consumed from (direct reply-to needs both on one channel).
type rpcChannel struct {
	ch     *amqp.Channel
	prefix string
	seq    atomic.Uint64

	mu      sync.Mutex
	pending map[string]chan callResult
	dead    error
}

// caller returns the rpc channel, opening it when there is none or it was
// lost.
func (b *Bus) caller(ctx context.Context) (*rpcChannel, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rpc != nil && !b.rpc.ch.IsClosed() {
		return b.rpc, nil
	}
	ch, err := b.openChannel(ctx)
	if err != nil {
		return nil, err
	}
	replies, err := ch.Consume(replyTo, "", true, false, false, false, nil)
	if err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("consume replies from %s: %w", replyTo, err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	rc := &rpcChannel{ch: ch, prefix: hex.EncodeToString(id[:]) + "-", pending: map[string]chan callResult{}}
	go rc.dispatch(replies, ch.NotifyReturn(make(chan amqp.Return, 64)))
	b.rpc = rc
	return rc, nil
}

// dispatch hands each reply and each returned call to its caller until the
// channel closes, then fails the calls still waiting.
func (rc *rpcChannel) dispatch(replies <-chan amqp.Delivery, returns <-chan amqp.Return) {
	for replies != nil || returns != nil {
		select {
		case d, ok := <-replies:
			if !ok {
				replies = nil
				continue
			}
			r := callResult{body: d.Body}
			if msg, ok := d.Headers[headerError].(string); ok {
				r = callResult{failure: msg, failed: true}
			}
			rc.deliver(d.CorrelationId, r)
		case ret, ok := <-returns:
			if !ok {
				returns = nil
				continue
			}
			rc.deliver(ret.CorrelationId, callResult{returned: true})
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.dead = errors.New("the channel of the calls closed (connection lost)")
	for id, c := range rc.pending {
		c <- callResult{lost: rc.dead}
		delete(rc.pending, id)
	}
}

func (rc *rpcChannel) deliver(id string, r callResult) {
	rc.mu.Lock()
	c, ok := rc.pending[id]
	delete(rc.pending, id)
	rc.mu.Unlock()
	if ok {
		c <- r // buffered: never blocks
	}
}

func (rc *rpcChannel) register() (string, chan callResult, error) {
	id := rc.prefix + strconv.FormatUint(rc.seq.Add(1), 36)
	c := make(chan callResult, 1)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.dead != nil {
		return "", nil, rc.dead
	}
	rc.pending[id] = c
	return id, c, nil
}

func (rc *rpcChannel) forget(id string) {
	rc.mu.Lock()
	delete(rc.pending, id)
	rc.mu.Unlock()
}

func checkFunction(service, function string) error {
	if service == "" || function == "" || !ValidQueueName(CallQueue(service, function)) {
		return fmt.Errorf("rabbitmq bus: %q.%q is not a function name: want a service and a function name, together under 190 bytes", service, function)
	}
	return nil
}

// Call sends body to one replica of service's function and waits for its
// reply until ctx's deadline; see bus.Bus.
func (b *Bus) Call(ctx context.Context, service, function string, body []byte) ([]byte, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil, bus.ErrNoDeadline
	}
	if err := checkFunction(service, function); err != nil {
		return nil, err
	}
	name := service + "." + function
	left := time.Until(deadline)
	if left <= 0 {
		return nil, fmt.Errorf("rabbitmq bus: call %s: %w", name, context.DeadlineExceeded)
	}
	rc, err := b.caller(ctx)
	if err != nil {
		return nil, fmt.Errorf("rabbitmq bus: call %s: %w", name, err)
	}
	id, reply, err := rc.register()
	if err != nil {
		return nil, fmt.Errorf("rabbitmq bus: call %s: %w", name, err)
	}
	defer rc.forget(id)
	err = rc.ch.PublishWithContext(ctx, "", CallQueue(service, function), true, false, amqp.Publishing{
		CorrelationId: id,
		ReplyTo:       replyTo,
		Expiration:    strconv.FormatInt(max(left.Milliseconds(), 1), 10),
		DeliveryMode:  amqp.Transient,
		Headers:       amqp.Table{headerDeadline: deadline.UnixMilli()},
		Body:          body,
	})
	if err != nil {
		return nil, fmt.Errorf("rabbitmq bus: call %s: %w", name, err)
	}
	select {
	case r := <-reply:
		switch {
		case r.returned:
			return nil, fmt.Errorf("rabbitmq bus: call %s: %w", name, bus.ErrNoRoute)
		case r.lost != nil:
			return nil, fmt.Errorf("rabbitmq bus: call %s: %w", name, r.lost)
		case r.failed:
			return nil, &bus.CallError{Service: service, Function: function, Message: r.failure}
		}
		return r.body, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("rabbitmq bus: call %s: %w", name, ctx.Err())
	}
}

// Serve answers calls to service's function with h until ctx ends; see
// bus.Bus. Up to BusOptions.ServeConcurrency calls run at once; at the end
// the calls in progress finish (within their deadlines) before it returns.
func (b *Bus) Serve(ctx context.Context, service, function string, h bus.CallHandler) error {
	if err := checkFunction(service, function); err != nil {
		return err
	}
	queue := CallQueue(service, function)
	return b.retry(ctx, "serve "+service+"."+function, func(ctx context.Context, ch *amqp.Channel) error {
		// Auto-deleted with its last consumer: a call to a function that
		// nobody serves is unroutable, and comes back to its caller at once.
		if _, err := ch.QueueDeclare(queue, false, true, false, false, nil); err != nil {
			return fmt.Errorf("declare queue %q: %w", queue, err)
		}
		if err := ch.Qos(b.opts.ServeConcurrency, 0, false); err != nil {
			return fmt.Errorf("set the prefetch of %q: %w", queue, err)
		}
		dels, err := ch.Consume(queue, "", false, false, false, false, nil)
		if err != nil {
			return fmt.Errorf("consume %q: %w", queue, err)
		}
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			select {
			case d, ok := <-dels:
				if !ok {
					return errors.New("the channel closed")
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					b.answer(ctx, ch, &d, h)
				}()
			case <-ctx.Done():
				return nil // the deferred close of ch requeues what was not taken
			}
		}
	})
}

// answer runs h on one call and replies, unless the call's deadline passed.
func (b *Bus) answer(ctx context.Context, ch *amqp.Channel, d *amqp.Delivery, h bus.CallHandler) {
	defer func() { _ = d.Ack(false) }()
	ms, ok := d.Headers[headerDeadline].(int64)
	if !ok || d.ReplyTo == "" {
		b.log.Warn("call dropped: not a Band call (no deadline or reply address)", slog.String("queue", d.RoutingKey))
		return
	}
	deadline := time.UnixMilli(ms)
	if !time.Now().Before(deadline) {
		b.log.Debug("call dropped: its deadline passed", slog.String("queue", d.RoutingKey))
		return
	}
	// The calls in progress at shutdown still finish, within their deadline.
	cctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	out, err := h(cctx, d.Body)
	if cctx.Err() != nil {
		return // the caller has given up
	}
	reply := amqp.Publishing{CorrelationId: d.CorrelationId, DeliveryMode: amqp.Transient, Body: out}
	if err != nil {
		reply = amqp.Publishing{CorrelationId: d.CorrelationId, DeliveryMode: amqp.Transient, Headers: amqp.Table{headerError: err.Error()}}
	}
	if err := ch.PublishWithContext(cctx, "", d.ReplyTo, false, false, reply); err != nil {
		b.log.Warn("call answered but the reply failed", slog.String("queue", d.RoutingKey), slog.Any("error", err))
	}
}
