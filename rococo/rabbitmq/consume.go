package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
)

// consumer feeds one queue's deliveries to the out channel across
// reconnects.
type consumer struct {
	t     *Transport
	queue string
	opts  rococo.ConsumeOptions
	out   chan rococo.Delivery
	log   *slog.Logger
	tag   string           // consumer tag of the current channel; used by run only
	conn  *amqp.Connection // connection of the current channel; used by run only
	// checked: the delay queues were checked (at the first open).
	checked bool

	limit int           // prefetch of the current consumer; used by run only
	resub chan struct{} // capacity 1: held changed, resubscribe

	mu        sync.Mutex
	state     error // nil while consuming
	unsettled int
	held      int           // deliveries held by hold, not counted against the prefetch
	settled   chan struct{} // capacity 1: pinged on every settle
}

// Consume declares queue (durable, no arguments, as Python rococo does) when
// it is missing and uses it whatever its arguments when it exists, declares
// its dead-letter queue <queue>.dlq (durable, no arguments) and checks its
// existing delay queues (a queue of its own that exists with other
// arguments is refused with a *config.Error), sets the prefetch count to
// opts.Prefetch and delivers the queue's messages. It waits for the first connection (bounded by ctx), and
// returns an error when that connection or the first set-up fails. After
// that it resumes by itself after connection or channel loss.
//
// The returned channel is unbuffered. When ctx is cancelled, the consumer
// is cancelled at the broker (no new deliveries), deliveries read ahead and
// not handed out are given back (copies published to the queue, the
// originals acked: they keep their attempt and are not marked
// redelivered), and the channel closes; deliveries a receiver already took
// can still be settled until every one is, or until Close.
func (t *Transport) Consume(ctx context.Context, queue string, opts rococo.ConsumeOptions) (<-chan rococo.Delivery, error) {
	if queue == "" {
		return nil, errors.New("rabbitmq: consume: empty queue name")
	}
	if opts.Prefetch < 1 {
		opts.Prefetch = 1
	}
	c := &consumer{
		t:     t,
		queue: queue,
		opts:  opts,
		// Unbuffered: a delivery is handed out only to a receiver waiting
		// for it, so none is left in a buffer when the consumer stops.
		out:     make(chan rococo.Delivery),
		log:     t.log.With(slog.String("queue", queue)),
		settled: make(chan struct{}, 1),
		resub:   make(chan struct{}, 1),
	}
	// The caller names the queue (the router: consume queue "q": ...).
	conn, _, err := t.consumeLink.connection(ctx)
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: %w", err)
	}
	ch, dels, err := c.open(conn)
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: %w", err)
	}
	t.mu.Lock()
	select {
	case <-t.closing:
		t.mu.Unlock()
		_ = ch.Close()
		return nil, ErrClosed
	default:
	}
	t.consumers[c] = struct{}{}
	t.wg.Add(1)
	t.mu.Unlock()
	c.log.Info("rabbitmq consuming", slog.Int("prefetch", opts.Prefetch))
	go c.run(ctx, ch, dels)
	return c.out, nil
}

// open declares the queues and starts consuming on a new channel. The first
// open checks the delay queues that exist (declareOwned); missing ones are
// declared when a message first goes to one.
func (c *consumer) open(conn *amqp.Connection) (*amqp.Channel, <-chan amqp.Delivery, error) {
	t := c.t
	if err := declareShared(conn, c.queue); err != nil {
		return nil, nil, err
	}
	if !c.checked {
		if err := t.declareOwned(conn, c.queue); err != nil {
			return nil, nil, err
		}
		c.checked = true
	} else if err := t.declare(conn, deadLetterQueue(c.queue)); err != nil {
		return nil, nil, err
	}
	c.conn = conn
	ch, err := conn.Channel()
	if err != nil {
		return nil, nil, fmt.Errorf("open channel: %w", err)
	}
	c.mu.Lock()
	prefetch := c.opts.Prefetch + c.held
	c.mu.Unlock()
	if err := ch.Qos(prefetch, 0, false); err != nil {
		_ = ch.Close()
		return nil, nil, fmt.Errorf("set prefetch %d: %w", prefetch, err)
	}
	c.limit = prefetch
	c.tag = t.nextTag(c.queue)
	dels, err := ch.Consume(c.queue, c.tag, false, false, false, false, nil)
	if err != nil {
		_ = ch.Close()
		return nil, nil, fmt.Errorf("start consumer: %w", err)
	}
	c.setState(nil)
	return ch, dels, nil
}

type stopReason int

const (
	stopCancelled stopReason = iota // ctx done
	stopClosing                     // Transport.Close
	stopFinished                    // ExitWhenFinished and the queue is empty
	stopLost                        // channel or connection lost
)

func (c *consumer) run(ctx context.Context, ch *amqp.Channel, dels <-chan amqp.Delivery) {
	defer c.t.wg.Done()
	defer close(c.out)
	defer c.remove()
	delay := c.t.cfg.ReconnectMin
	for {
		switch c.forward(ctx, ch, &dels) {
		case stopClosing:
			_ = ch.Close()
			return
		case stopCancelled, stopFinished:
			c.cancel(ch, dels)
			return
		}
		if !ch.IsClosed() {
			_ = ch.Close()
		}
		c.setState(fmt.Errorf("rabbitmq: consumer of queue %q stopped, resuming", c.queue))
		c.log.Warn("rabbitmq consumer lost, resuming after reconnect")
		logged := false
		for {
			conn, _, err := c.t.consumeLink.connection(ctx)
			if err != nil {
				return // ctx done or closing
			}
			var oerr error
			if ch, dels, oerr = c.open(conn); oerr == nil {
				break
			}
			c.setState(fmt.Errorf("rabbitmq: resume consuming queue %q: %w", c.queue, oerr))
			if !logged {
				logged = true
				c.log.Warn("rabbitmq resume consuming failed, retrying", slog.Any("error", oerr))
			} else {
				c.log.Debug("rabbitmq resume consuming failed again", slog.Any("error", oerr))
			}
			timer := time.NewTimer(jitter(delay))
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-c.t.closing:
				timer.Stop()
				return
			case <-timer.C:
			}
			delay = min(delay*2, c.t.cfg.ReconnectMax)
		}
		delay = c.t.cfg.ReconnectMin
		c.log.Info("rabbitmq consuming again")
	}
}

// forward hands deliveries out until it has to stop, and says why.
func (c *consumer) forward(ctx context.Context, ch *amqp.Channel, dels *<-chan amqp.Delivery) stopReason {
	var idle <-chan time.Time
	var timer *time.Timer
	if c.opts.ExitWhenFinished {
		timer = time.NewTimer(c.t.cfg.ExitIdle)
		defer timer.Stop()
		idle = timer.C
	}
	for {
		select {
		case <-ctx.Done():
			return stopCancelled
		case <-c.t.closing:
			return stopClosing
		case <-idle:
			if c.finished() {
				return stopFinished
			}
			timer.Reset(c.t.cfg.ExitIdle)
		case <-c.resub:
			if stop, ok := c.resubscribe(ctx, ch, dels); !ok {
				return stop
			}
		case d, ok := <-*dels:
			if !ok {
				return stopLost
			}
			if stop, ok := c.handOut(ctx, ch, &d); !ok {
				return stop
			}
			if timer != nil {
				if !timer.Stop() {
					select {
					case <-timer.C:
					default:
					}
				}
				timer.Reset(c.t.cfg.ExitIdle)
			}
		}
	}
}

// handOut hands d to a receiver of out (after bump for a redelivered one);
// false when the consumer has to stop first, and why.
func (c *consumer) handOut(ctx context.Context, ch *amqp.Channel, d *amqp.Delivery) (stopReason, bool) {
	if d.Redelivered && c.bump(ch, d) {
		return 0, true
	}
	del := c.newDelivery(ch, d)
	c.add()
	select {
	case c.out <- del:
		return 0, true
	case <-ctx.Done():
		if del.claim() {
			c.giveBack(ch, []*delivery{del})
			c.done()
		}
		return stopCancelled, false
	case <-c.t.closing:
		c.done()
		return stopClosing, false
	}
}

// resubscribe replaces the consumer by one whose prefetch is the
// consumer's plus the deliveries hold keeps (RabbitMQ applies a
// per-consumer prefetch to consumers started after it): a new consumer
// starts on ch, the old one is cancelled, and what the old one still
// delivers is handed out before the new one's deliveries. false when the
// consumer has to stop, and why.
func (c *consumer) resubscribe(ctx context.Context, ch *amqp.Channel, dels *<-chan amqp.Delivery) (stopReason, bool) {
	c.mu.Lock()
	want := c.opts.Prefetch + c.held
	c.mu.Unlock()
	if want == c.limit {
		return 0, true
	}
	if err := ch.Qos(want, 0, false); err != nil {
		c.log.Warn("rabbitmq raise prefetch for held messages", slog.Int("prefetch", want), slog.Any("error", err))
		return stopLost, false
	}
	tag := c.t.nextTag(c.queue)
	fresh, err := ch.Consume(c.queue, tag, false, false, false, false, nil)
	if err != nil {
		c.log.Warn("rabbitmq resubscribe with a new prefetch", slog.Int("prefetch", want), slog.Any("error", err))
		return stopLost, false
	}
	old, oldTag := *dels, c.tag
	*dels, c.tag, c.limit = fresh, tag, want
	if err := ch.Cancel(oldTag, false); err != nil {
		return stopLost, false
	}
	// After cancel-ok the library closes old once it delivered the rest.
	for d := range old {
		if stop, ok := c.handOut(ctx, ch, &d); !ok {
			var back []*delivery
			for d := range old {
				back = append(back, c.newDelivery(ch, &d))
			}
			if len(back) > 0 && !ch.IsClosed() {
				c.giveBack(ch, back)
			}
			return stop, false
		}
	}
	return 0, true
}

// finished reports that nothing is unsettled and the queue and the delay
// queues this transport used for it hold no message.
func (c *consumer) finished() bool {
	c.mu.Lock()
	n := c.unsettled
	c.mu.Unlock()
	if n > 0 {
		return false
	}
	for _, q := range append([]string{c.queue}, c.t.delayQueuesOf(c.queue)...) {
		if n, err := queueDepth(c.conn, q); err != nil || n > 0 {
			return false
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unsettled == 0
}

// queueDepth returns the number of ready messages in queue, checked on a
// short-lived channel of conn (a passive declare of a missing queue closes
// its channel).
func queueDepth(conn *amqp.Connection, queue string) (int, error) {
	ch, err := conn.Channel()
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	info, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		return 0, err
	}
	return info.Messages, nil
}

// giveBack hands deliveries of ch (claimed, not processed) back to the
// queue: copies with the same attempt are published to the queue's tail,
// then the originals are acked, so they come back neither with a higher
// attempt nor marked redelivered. When the copies cannot be published, the
// originals are nacked with requeue: nothing is lost, but the broker marks
// them redelivered.
func (c *consumer) giveBack(ch *amqp.Channel, dels []*delivery) {
	pubs := make([]amqp.Publishing, len(dels))
	for i, d := range dels {
		pubs[i] = d.republish(d.giveBackHeaders())
	}
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	err := c.t.publish(ctx, sharedQueue(c.queue), pubs, failWhileBlocked)
	if err != nil {
		c.log.Warn("rabbitmq give back: copies not published, requeueing the messages instead", slog.Int("messages", len(dels)), slog.Any("error", err))
	}
	for _, d := range dels {
		if err == nil {
			_ = ch.Ack(d.raw.DeliveryTag, false)
		} else {
			_ = ch.Nack(d.raw.DeliveryTag, false, true)
		}
	}
}

// cancel stops the consumer at the broker, gives back what the library
// buffered, and closes the channel once every delivery handed out was
// settled (or at Close).
func (c *consumer) cancel(ch *amqp.Channel, dels <-chan amqp.Delivery) {
	if err := ch.Cancel(c.tag, false); err != nil {
		// Closing the channel ends the delivery stream too; the broker
		// requeues whatever it had sent.
		c.log.Debug("rabbitmq cancel consumer", slog.Any("error", err))
		_ = ch.Close()
	}
	var back []*delivery
	for d := range dels {
		back = append(back, c.newDelivery(ch, &d))
	}
	if len(back) > 0 && !ch.IsClosed() {
		c.giveBack(ch, back)
	}
	c.t.wg.Add(1)
	go func() {
		defer c.t.wg.Done()
		defer ch.Close()
		for {
			c.mu.Lock()
			n := c.unsettled
			c.mu.Unlock()
			if n == 0 || ch.IsClosed() {
				return
			}
			select {
			case <-c.settled:
			case <-c.t.closing:
				return
			}
		}
	}()
}

// holdRetryMax caps the growing wait between a held delivery's attempts to
// publish its copy.
const holdRetryMax = time.Minute

// hold keeps d (claimed, not settled), whose give-back copy could not be
// published, without it taking a prefetch slot: the channel's prefetch is
// raised by one meanwhile, so consuming and acking go on. After delay, and
// once the broker no longer blocks publishing, the copy is published again
// and d acked; while that fails (a queue that refuses it), d stays held and
// the copy is tried again after a wait doubling from delay up to
// holdRetryMax: never a requeue, which the broker would mark redelivered
// and which would count as a crash. At Close a held delivery goes back to
// the broker with its channel.
func (c *consumer) hold(d *delivery, spec queueSpec, pub amqp.Publishing, delay time.Duration) {
	c.t.mu.Lock()
	select {
	case <-c.t.closing:
		// Closing: the channel closes and the broker takes it back.
		c.t.mu.Unlock()
		c.done()
		return
	default:
	}
	c.t.wg.Add(1) // under mu, ordered with Close's close(closing)
	c.t.mu.Unlock()
	c.setHeld(1)
	go func() {
		defer c.t.wg.Done()
		defer c.done()
		defer c.setHeld(-1)
		for wait, tries := delay, 1; ; wait, tries = min(max(wait*2, time.Second), holdRetryMax), tries+1 {
			if !c.waitToMove(wait) || d.ch.IsClosed() {
				return // closing, or the broker took it back with the channel
			}
			ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
			err := c.t.publish(ctx, spec, []amqp.Publishing{pub}, failWhileBlocked)
			cancel()
			if err == nil {
				_ = d.ch.Ack(d.raw.DeliveryTag, false)
				return
			}
			level := slog.LevelDebug
			if tries == 1 {
				level = slog.LevelWarn
			}
			c.log.Log(context.Background(), level, "rabbitmq release: copy not published again, holding the message",
				slog.String("message_id", d.msg.ID), slog.Int("tries", tries), slog.Any("error", err))
		}
	}()
}

// waitToMove waits d, then until the broker no longer blocks publishing; it
// reports false when the transport closes first.
func (c *consumer) waitToMove(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-c.t.closing:
		return false
	}
	for {
		reason, unblocked, _ := c.t.publishLink.blockedState()
		if reason == "" {
			return true
		}
		select {
		case <-unblocked:
		case <-c.t.closing:
			return false
		}
	}
}

// setHeld counts delta more held deliveries and asks forward to
// resubscribe with a prefetch that leaves them out (see resubscribe). The
// prefetch goes back to the consumer's once nothing is held.
func (c *consumer) setHeld(delta int) {
	c.mu.Lock()
	c.held += delta
	held := c.held
	c.mu.Unlock()
	if delta > 0 || held == 0 {
		select {
		case c.resub <- struct{}{}:
		default:
		}
	}
}

func (c *consumer) remove() {
	c.t.mu.Lock()
	delete(c.t.consumers, c)
	c.t.mu.Unlock()
}

func (c *consumer) setState(err error) {
	c.mu.Lock()
	c.state = err
	c.mu.Unlock()
}

func (c *consumer) readyErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *consumer) add() {
	c.mu.Lock()
	c.unsettled++
	c.mu.Unlock()
}

func (c *consumer) done() {
	c.mu.Lock()
	c.unsettled--
	c.mu.Unlock()
	select {
	case c.settled <- struct{}{}:
	default:
	}
}

// attemptOf reads HeaderAttempt; absent or invalid means 1.
func attemptOf(h amqp.Table) int {
	var n int
	switch v := h[rococo.HeaderAttempt].(type) {
	case int32:
		n = int(v)
	case int64:
		n = int(v)
	case int:
		n = v
	case int16:
		n = int(v)
	case int8:
		n = int(v)
	case uint8:
		n = int(v)
	case uint16:
		n = int(v)
	case uint32:
		n = int(v)
	case string:
		n, _ = strconv.Atoi(v)
	case []byte:
		n, _ = strconv.Atoi(string(v))
	}
	if n < 1 {
		return 1
	}
	return n
}

// stringHeaders converts scalar AMQP header values to strings; nested
// tables and arrays (such as x-death) are left out.
func stringHeaders(h amqp.Table) map[string]string {
	if len(h) == 0 {
		return nil
	}
	m := make(map[string]string, len(h))
	for k, v := range h {
		switch v := v.(type) {
		case string:
			m[k] = v
		case []byte:
			m[k] = string(v)
		case time.Time:
			m[k] = v.UTC().Format(time.RFC3339)
		case amqp.Table, []any, nil:
		default:
			m[k] = fmt.Sprint(v)
		}
	}
	return m
}
