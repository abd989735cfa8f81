package rococotest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/rococo-go/rococo/rococo"
)

var (
	// ErrClosed is returned by Publish and Consume after Close.
	ErrClosed = errors.New("rococotest: transport closed")
	// ErrSettled is returned when a delivery is settled a second time.
	ErrSettled = errors.New("rococotest: delivery already settled")
)

// Transport is an in-memory rococo.Transport. Queues spring into existence
// on first use. It is safe for concurrent use and has no global state.
//
// Messages live only in memory: a delivery that is never settled stays
// unsettled (a real broker would redeliver it after the consumer's
// connection closes).
type Transport struct {
	mu       sync.Mutex
	queues   map[string]*queue
	nextID   uint64
	closed   bool
	notReady error
	failMove map[string]error // queue -> the error of its Retry and DeadLetter
	done     chan struct{}    // closed by Close
	wg       sync.WaitGroup
}

var _ rococo.Transport = (*Transport)(nil)

// NewTransport returns an empty in-memory transport.
func NewTransport() *Transport {
	return &Transport{queues: make(map[string]*queue), done: make(chan struct{})}
}

// RetryRecord describes one Retry of a delivery.
type RetryRecord struct {
	ID      string
	Attempt int // the attempt that failed
	Delay   time.Duration
	Err     string // cause.Error(), "" for a nil cause
}

// Stats counts a queue's messages.
type Stats struct {
	Ready        int // waiting to be delivered
	Delayed      int // retried or released, waiting for their delay to pass
	Unsettled    int // handed out and not settled yet
	Acked        int
	Retried      int
	Released     int
	DeadLettered int
	FailedMoves  int // Retry and DeadLetter calls failed by FailMoves
}

type queue struct {
	msgs      []*rococo.Message
	delayed   int
	unsettled int
	stats     Stats
	retries   []RetryRecord
	waiters   []chan struct{} // wake channels of consumers waiting for a change
}

// consumer tracks one Consume call's unsettled deliveries.
type consumer struct {
	unsettled int
	wake      chan struct{} // capacity 1
}

type delivery struct {
	t       *Transport
	q       *queue
	c       *consumer
	msg     *rococo.Message
	settled bool // guarded by t.mu
}

var _ rococo.Delivery = (*delivery)(nil)

// queueLocked returns the named queue, creating it. t.mu must be held.
func (t *Transport) queueLocked(name string) *queue {
	q := t.queues[name]
	if q == nil {
		q = &queue{}
		t.queues[name] = q
	}
	return q
}

// wait registers c to be woken at the next change of q and returns its wake
// channel (reused, so waiting allocates nothing). t.mu must be held.
func (q *queue) wait(c *consumer) <-chan struct{} {
	q.waiters = append(q.waiters, c.wake)
	return c.wake
}

// notify wakes the consumers waiting on q. A wake-up may be spurious; the
// consumer loop re-checks its condition. t.mu must be held.
func (q *queue) notify() {
	for i, w := range q.waiters {
		select {
		case w <- struct{}{}:
		default:
		}
		q.waiters[i] = nil
	}
	q.waiters = q.waiters[:0]
}

func (q *queue) push(m *rococo.Message) {
	q.msgs = append(q.msgs, m)
	q.notify()
}

// Publish copies the Body and Headers of msgs onto queue, each with a new ID
// and Attempt 1.
func (t *Transport) Publish(ctx context.Context, queue string, msgs ...*rococo.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish to %q: %w", queue, err)
	}
	if queue == "" {
		return errors.New("publish: empty queue name")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return fmt.Errorf("publish to %q: %w", queue, ErrClosed)
	}
	q := t.queueLocked(queue)
	for _, m := range msgs {
		t.nextID++
		q.msgs = append(q.msgs, &rococo.Message{
			ID:      "m-" + strconv.FormatUint(t.nextID, 10),
			Body:    append([]byte(nil), m.Body...),
			Headers: maps.Clone(m.Headers),
			Attempt: 1,
			Queue:   queue,
		})
	}
	q.notify()
	return nil
}

// Consume starts delivering queue's messages in FIFO order (retried messages
// join the back of the queue), at most opts.Prefetch unsettled at once. See
// rococo.Transport for when the channel closes. With ExitWhenFinished,
// "finished" also requires that no retried message is waiting for its delay.
func (t *Transport) Consume(ctx context.Context, queue string, opts rococo.ConsumeOptions) (<-chan rococo.Delivery, error) {
	if queue == "" {
		return nil, errors.New("consume: empty queue name")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("consume %q: %w", queue, err)
	}
	prefetch := max(opts.Prefetch, 1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("consume %q: %w", queue, ErrClosed)
	}
	q := t.queueLocked(queue)
	t.queueLocked(rococo.DeadLetterQueue(queue))
	out := make(chan rococo.Delivery)
	t.wg.Add(1)
	go t.consume(ctx, q, &consumer{wake: make(chan struct{}, 1)}, prefetch, opts.ExitWhenFinished, out)
	return out, nil
}

func (t *Transport) consume(ctx context.Context, q *queue, c *consumer, prefetch int, exitWhenFinished bool, out chan<- rococo.Delivery) {
	defer t.wg.Done()
	defer close(out)
	for {
		t.mu.Lock()
		if t.closed || ctx.Err() != nil {
			t.mu.Unlock()
			return
		}
		if c.unsettled < prefetch && len(q.msgs) > 0 {
			m := q.msgs[0]
			q.msgs[0] = nil
			q.msgs = q.msgs[1:]
			c.unsettled++
			q.unsettled++
			d := &delivery{t: t, q: q, c: c, msg: m}
			t.mu.Unlock()
			select {
			case out <- d:
				continue
			case <-ctx.Done():
			case <-t.done:
			}
			// Not handed out: put it back where it was.
			t.mu.Lock()
			q.msgs = append([]*rococo.Message{m}, q.msgs...)
			c.unsettled--
			q.unsettled--
			q.notify()
			t.mu.Unlock()
			return
		}
		if exitWhenFinished && len(q.msgs) == 0 && q.delayed == 0 && q.unsettled == 0 {
			t.mu.Unlock()
			return
		}
		changed := q.wait(c)
		t.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-t.done:
			return
		}
	}
}

// Ready returns ErrClosed after Close, the error set with SetNotReady, or
// nil.
func (t *Transport) Ready() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	return t.notReady
}

// SetNotReady makes Ready return err (nil makes it ready again), to simulate
// a lost broker connection.
func (t *Transport) SetNotReady(err error) {
	t.mu.Lock()
	t.notReady = err
	t.mu.Unlock()
}

// FailMoves makes every later Retry and DeadLetter of a delivery from queue
// fail with err, leaving the delivery unsettled, as a transport does when
// its retry or dead-letter queue cannot be reached; nil heals it. Ack and
// Release keep working.
func (t *Transport) FailMoves(queue string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failMove == nil {
		t.failMove = map[string]error{}
	}
	if err == nil {
		delete(t.failMove, queue)
		return
	}
	t.failMove[queue] = err
}

// Close closes every delivery channel and waits until the consuming
// goroutines have exited. Deliveries already handed out can still be
// settled, and retries still come back when their delay passes. Close is
// safe to call more than once.
func (t *Transport) Close() error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		close(t.done)
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}

// Stats returns queue's counters.
func (t *Transport) Stats(queue string) Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.queues[queue]
	if q == nil {
		return Stats{}
	}
	s := q.stats
	s.Ready, s.Delayed, s.Unsettled = len(q.msgs), q.delayed, q.unsettled
	return s
}

// Len returns the number of messages waiting in queue, not counting retried
// messages still waiting for their delay.
func (t *Transport) Len(queue string) int { return t.Stats(queue).Ready }

// Acked returns how many deliveries from queue were acknowledged.
func (t *Transport) Acked(queue string) int { return t.Stats(queue).Acked }

// Messages returns copies of the messages waiting in queue, in order.
func (t *Transport) Messages(queue string) []*rococo.Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.queues[queue]
	if q == nil {
		return nil
	}
	out := make([]*rococo.Message, len(q.msgs))
	for i, m := range q.msgs {
		c := *m
		c.Body = append([]byte(nil), m.Body...)
		c.Headers = maps.Clone(m.Headers)
		out[i] = &c
	}
	return out
}

// DeadLetters returns copies of the messages in queue's dead-letter queue.
func (t *Transport) DeadLetters(queue string) []*rococo.Message {
	return t.Messages(rococo.DeadLetterQueue(queue))
}

// Retries returns a record of every Retry of a delivery from queue, oldest
// first.
func (t *Transport) Retries(queue string) []RetryRecord {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.queues[queue]
	if q == nil {
		return nil
	}
	return append([]RetryRecord(nil), q.retries...)
}

// Message returns the delivered message.
func (d *delivery) Message() *rococo.Message { return d.msg }

// settleLocked marks d settled. d.t.mu must be held.
func (d *delivery) settleLocked() error {
	if d.settled {
		return fmt.Errorf("settle message %q: %w", d.msg.ID, ErrSettled)
	}
	d.settled = true
	d.c.unsettled--
	d.q.unsettled--
	d.q.notify()
	return nil
}

// Ack removes the message.
func (d *delivery) Ack(context.Context) error {
	d.t.mu.Lock()
	defer d.t.mu.Unlock()
	if err := d.settleLocked(); err != nil {
		return err
	}
	d.q.stats.Acked++
	return nil
}

// Retry puts a copy of the message with Attempt+1 (also in HeaderAttempt)
// back at the end of its queue once delay has passed, using time.AfterFunc.
func (d *delivery) Retry(_ context.Context, delay time.Duration, cause error) error {
	t := d.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := d.moveFailedLocked("retry"); err != nil {
		return err
	}
	if err := d.settleLocked(); err != nil {
		return err
	}
	q := d.q
	q.stats.Retried++
	q.retries = append(q.retries, RetryRecord{ID: d.msg.ID, Attempt: d.msg.Attempt, Delay: delay, Err: errString(cause)})
	m := *d.msg
	m.Attempt++
	m.Redelivered = false
	m.Headers = maps.Clone(d.msg.Headers)
	if m.Headers == nil {
		m.Headers = make(map[string]string, 1)
	}
	m.Headers[rococo.HeaderAttempt] = strconv.Itoa(m.Attempt)
	q.pushAfter(t, &m, delay)
	return nil
}

// Release puts the message back, unchanged, at the end of its queue once
// delay has passed.
func (d *delivery) Release(_ context.Context, delay time.Duration) error {
	t := d.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := d.settleLocked(); err != nil {
		return err
	}
	d.q.stats.Released++
	m := *d.msg
	m.Redelivered = false
	d.q.pushAfter(t, &m, delay)
	return nil
}

// pushAfter pushes m once delay has passed. t.mu must be held.
func (q *queue) pushAfter(t *Transport, m *rococo.Message, delay time.Duration) {
	if delay <= 0 {
		q.push(m)
		return
	}
	q.delayed++
	time.AfterFunc(delay, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		q.delayed--
		q.push(m)
	})
}

// moveFailedLocked returns the FailMoves error of d's queue, counting it.
// t.mu must be held.
func (d *delivery) moveFailedLocked(op string) error {
	if d.settled {
		return nil // settleLocked reports it
	}
	if err := d.t.failMove[d.msg.Queue]; err != nil {
		d.q.stats.FailedMoves++
		return fmt.Errorf("%s message %q: %w", op, d.msg.ID, err)
	}
	return nil
}

// DeadLetter moves a copy of the message to the dead-letter queue with
// HeaderError, HeaderAttempt and HeaderOriginalQueue set.
func (d *delivery) DeadLetter(_ context.Context, cause error) error {
	t := d.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := d.moveFailedLocked("dead-letter"); err != nil {
		return err
	}
	if err := d.settleLocked(); err != nil {
		return err
	}
	d.q.stats.DeadLettered++
	m := *d.msg
	m.Headers = make(map[string]string, len(d.msg.Headers)+3)
	maps.Copy(m.Headers, d.msg.Headers)
	m.Headers[rococo.HeaderError] = errString(cause)
	m.Headers[rococo.HeaderAttempt] = strconv.Itoa(d.msg.Attempt)
	m.Headers[rococo.HeaderOriginalQueue] = d.msg.Queue
	dlq := rococo.DeadLetterQueue(d.msg.Queue)
	m.Queue = dlq
	m.Attempt = 1
	t.queueLocked(dlq).push(&m)
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TransportConfig returns a rococo.TransportConfig whose Open returns t, for
// hosting the in-memory transport in a service (host.Info.Transports). Open
// hands t out as it is; closing it closes t.
func (t *Transport) TransportConfig(concurrency int) rococo.TransportConfig {
	return memConfig{t: t, concurrency: max(concurrency, 1)}
}

type memConfig struct {
	t           *Transport
	concurrency int
}

func (c memConfig) Concurrency() int { return c.concurrency }

func (c memConfig) Open(context.Context, *slog.Logger) (rococo.Transport, error) { return c.t, nil }

func (c memConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("transport", "in-memory"), slog.Int("concurrency", c.concurrency))
}
