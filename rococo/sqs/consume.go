package sqs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rococo-go/rococo/rococo"
)

const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 10 * time.Second
	// giveBackTimeout bounds returning received but undelivered messages
	// to the queue when consuming stops.
	giveBackTimeout = 5 * time.Second
	// heartbeatTimeout bounds one ChangeMessageVisibilityBatch of the
	// heartbeat; settling a delivery waits for it.
	heartbeatTimeout = 10 * time.Second
	// maxHeartbeatInterval caps the heartbeat period for long visibility
	// timeouts.
	maxHeartbeatInterval = time.Minute
	// receiveSlack is how much longer than its wait time a receive may take
	// before it is abandoned (its deadline), and how long Close waits for
	// receives in flight beyond their wait time.
	receiveSlack = 5 * time.Second
)

// Consume starts consuming queue (a rococo name): it looks up or creates the
// queue and its dead-letter queue, then long-polls with ReceiveMessage
// (WaitTimeSeconds from Config.WaitTime) in batches of up to 10.
// Config.VisibilityTimeout, when set, is the visibility timeout of every
// receive; else the queue's own VisibilityTimeout attribute applies.
//
// At most opts.Prefetch deliveries are handed out and unsettled at once. To
// hide the latency of a receive, the transport also reads ahead: it holds
// up to ReadAhead(opts.Prefetch) messages received but not yet handed out,
// so at most opts.Prefetch + ReadAhead(opts.Prefetch) messages of the queue
// are invisible to other consumers because of this one. It runs one
// receive loop per 10 messages it may hold (at most maxPollers), and a loop
// receives only when there is room for a full batch of 10.
//
// While a message is held or unsettled, a heartbeat extends its visibility
// timeout whenever less than half of it remains, so a processor that runs
// longer than the timeout does not see its message delivered again
// meanwhile.
//
// The channel closes when ctx ends, on Close, or with opts.ExitWhenFinished
// once a receive comes back empty, nothing is held or unsettled and the
// queue reports no message at all (visible, in flight or delayed, so a
// pending retry keeps the consumer alive). Messages received but not handed
// out when the channel closes are made visible again at once. Deliveries
// handed out can be settled after the channel closed, until Close.
//
// Lookup failures that a retry may cure (network errors) are retried with
// backoff until ctx ends; an answer from SQS that refuses the lookup (for
// example access denied) is returned.
func (t *Transport) Consume(ctx context.Context, queue string, opts rococo.ConsumeOptions) (<-chan rococo.Delivery, error) {
	if t.isClosed() {
		return nil, ErrClosed
	}
	prefetch := max(opts.Prefetch, 1)
	capacity := holdLimit(prefetch)
	c := &consumer{
		t:                t,
		queue:            queue,
		prefetch:         prefetch,
		batch:            maxBatch,
		capacity:         capacity,
		pollers:          pollersFor(capacity),
		waitSeconds:      waitSeconds(t.cfg.WaitTime),
		exitWhenFinished: opts.ExitWhenFinished,
		out:              make(chan rococo.Delivery),
		buf:              make(chan *delivery, capacity),
		handedFreed:      make(chan struct{}, 1),
		busy:             make(chan struct{}),
		finished:         make(chan struct{}),
		active:           map[*delivery]struct{}{},
		log:              t.log.With(slog.String("queue", QueueName(queue))), // the SQS name: q-dlq for q.dlq
	}
	c.room.L = &c.mu
	if err := t.retryTransient(ctx, "open queue "+strconv.Quote(queue), func() error {
		var err error
		if c.url, err = t.queueURL(ctx, queue); err != nil {
			return err
		}
		if c.dlqURL, err = t.queueURL(ctx, rococo.DeadLetterQueue(queue)); err != nil {
			return err
		}
		if vt := t.cfg.VisibilityTimeout; vt > 0 {
			c.visibility = min(ceilSeconds(vt), MaxVisibility)
			c.visibilitySeconds = int32(c.visibility / time.Second)
			return nil
		}
		c.visibility, err = t.queueVisibility(ctx, c.url)
		return err
	}); err != nil {
		return nil, err
	}
	c.del = newDeleter(t.client, c.url, c.log, c.pollers)

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		c.del.close()
		return nil, ErrClosed
	}
	t.consumers[c] = struct{}{}
	t.wg.Add(2)
	t.mu.Unlock()

	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(t.ctx, cancel)
	go func() {
		defer t.wg.Done()
		defer cancel()
		defer stop()
		c.run(cctx, cancel)
	}()
	go func() {
		defer t.wg.Done()
		c.heartbeat()
	}()
	c.log.Debug("consuming", slog.Int("prefetch", c.prefetch), slog.Int("pollers", c.pollers), slog.Int("wait_seconds", int(c.waitSeconds)),
		slog.Duration("visibility_timeout", c.visibility), slog.Bool("exit_when_finished", c.exitWhenFinished))
	return c.out, nil
}

const (
	// maxPollers bounds the concurrent receive loops of one consumer.
	maxPollers = 32
)

// consumer is one Consume call.
type consumer struct {
	t                 *Transport
	queue             string // rococo name
	url, dlqURL       string // guarded by mu after Consume returned
	prefetch          int    // most deliveries handed out and unsettled
	capacity          int    // most messages held: received (or reserved for a receive) and not settled
	batch             int    // a receive waits for room for this many messages (a full batch)
	pollers           int
	waitSeconds       int32
	visibility        time.Duration // effective visibility timeout
	visibilitySeconds int32         // sent with each receive; 0 = queue default
	exitWhenFinished  bool
	out               chan rococo.Delivery
	buf               chan *delivery // received, waiting to be handed out
	del               *deleter
	log               *slog.Logger

	mu          sync.Mutex
	held        int           // reserved for a receive, buffered, or handed out and unsettled
	reserved    int           // part of held reserved for receives in flight
	handed      int           // handed out and unsettled
	room        sync.Cond     // on mu: signalled when there is room for a receive
	handedFreed chan struct{} // capacity 1: handed shrank
	busy        chan struct{} // closed and replaced when a receive brings messages
	outClosed   bool
	active      map[*delivery]struct{} // held messages: the heartbeat's set
	finished    chan struct{}          // closed once the channel closed and nothing is held
	finishOnce  sync.Once
}

// run runs the receive loops and hands their messages out until ctx ends or
// ExitWhenFinished stops it (through stop). Then it closes the channel at
// once and gives back (makes visible again) what was received but not
// handed out, including what receives still in flight bring: those are not
// aborted, because SQS may already have taken messages for a long poll
// whose connection is then closed, and such messages would stay invisible
// for their visibility timeout. Close aborts them once their wait time
// is over.
func (c *consumer) run(ctx context.Context, stop context.CancelFunc) {
	var polls sync.WaitGroup
	for i := range c.pollers {
		polls.Go(func() { c.poll(ctx, stop, i == 0) })
	}
	var rest []*delivery
	if d := c.dispatch(ctx); d != nil {
		rest = append(rest, d)
	}
	stop()
	c.giveBack(append(rest, c.drainBuf()...))
	c.closeOut()
	polls.Wait()
	c.giveBack(c.drainBuf())
}

// drainBuf empties the buffer of received messages.
func (c *consumer) drainBuf() []*delivery {
	var ds []*delivery
	for {
		select {
		case d := <-c.buf:
			ds = append(ds, d)
		default:
			return ds
		}
	}
}

// dispatch hands buffered messages out, at most prefetch unsettled at once,
// until ctx ends. It returns the message it held when ctx ended, if any.
func (c *consumer) dispatch(ctx context.Context) *delivery {
	for {
		c.mu.Lock()
		free := c.handed < c.prefetch
		if free {
			c.handed++
		}
		c.mu.Unlock()
		if !free {
			select {
			case <-c.handedFreed:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case d := <-c.buf:
			if ctx.Err() != nil { // prefer stopping over handing out
				c.unhand()
				return d
			}
			select {
			case c.out <- d:
				continue
			case <-ctx.Done():
				c.unhand()
				return d
			}
		case <-ctx.Done():
			c.unhand()
			return nil
		}
	}
}

// poll is one receive loop. It runs until ctx ends; with ExitWhenFinished
// it calls stop once the queue is found empty with nothing held. Only the
// lead poller keeps polling an idle queue: the others park after an empty
// receive until a receive brings messages again, so an idle consumer sends
// one long poll at a time.
func (c *consumer) poll(ctx context.Context, stop context.CancelFunc, lead bool) {
	backoff := minBackoff
	failing := false
	for {
		n, ok := c.reserve(ctx)
		if !ok {
			return
		}
		c.mu.Lock()
		url := c.url
		c.mu.Unlock()
		start := time.Now()
		// The receive is not cancelled with ctx, only by Close once its
		// wait time is over (see run and Close).
		rctx, cancel := context.WithTimeout(c.t.pollCtx, time.Duration(c.waitSeconds)*time.Second+receiveSlack)
		out, err := c.t.client.ReceiveMessage(rctx, &awssqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         int32(n),
			WaitTimeSeconds:             c.waitSeconds,
			VisibilityTimeout:           c.visibilitySeconds,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount, types.MessageSystemAttributeNameMessageGroupId},
		})
		cancel()
		c.mu.Lock()
		c.reserved -= n
		c.mu.Unlock()
		if err != nil {
			c.unhold(n)
			if ctx.Err() != nil || c.t.ctx.Err() != nil {
				return
			}
			err = fmt.Errorf("receive from %q: %w", c.queue, err)
			c.t.setErr(err)
			if !failing {
				c.log.Warn("receive failed; retrying with backoff", slog.Any("error", err))
				failing = true
			} else {
				c.log.Debug("receive failed again", slog.Any("error", err), slog.Duration("backoff", backoff))
			}
			if isNotExist(err) {
				c.recreate(ctx)
			}
			if !sleep(ctx, jitter(backoff)) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		c.t.setErr(nil)
		if failing {
			c.log.Info("receiving again")
			failing = false
		}
		backoff = minBackoff
		c.unhold(n - len(out.Messages))
		if ctx.Err() != nil {
			ds := make([]*delivery, len(out.Messages))
			for i, m := range out.Messages {
				ds[i] = c.newDelivery(m, start)
			}
			c.giveBack(ds)
			return
		}
		if len(out.Messages) == 0 {
			if c.exitWhenFinished && c.idle() && c.drainedAndEmpty(ctx) {
				c.log.Info("queue empty and every delivery settled; exit when finished")
				stop()
				return
			}
			if !lead {
				c.mu.Lock()
				busy := c.busy
				c.mu.Unlock()
				select {
				case <-busy:
				case <-ctx.Done():
					return
				}
			} else if c.waitSeconds == 0 && !sleep(ctx, shortPollPause) {
				return // short polling: no busy loop on an idle queue
			}
			continue
		}
		c.mu.Lock()
		close(c.busy)
		c.busy = make(chan struct{})
		c.mu.Unlock()
		var waiting []requeue
		var crashed []*delivery
		for _, m := range out.Messages {
			d := c.newDelivery(m, start)
			if at, ok := notBefore(m.MessageAttributes); ok && time.Until(at) > time.Second {
				waiting = append(waiting, requeue{d: d, attempt: d.msg.Attempt, delay: time.Until(at)})
				continue
			}
			if c.crashLooped(d) {
				crashed = append(crashed, d)
				continue
			}
			// Never blocks: buf holds capacity messages and held counts
			// every one of them.
			c.buf <- d
		}
		if len(crashed) > 0 {
			for _, d := range c.deadLetterCrashed(crashed) {
				c.buf <- d
			}
		}
		if len(waiting) > 0 {
			c.hop(waiting)
		}
	}
}

// reserve waits until there is room for a full batch (10 messages) and
// reserves room for one receive of up to 10 messages: waiting for a full
// batch keeps receives large when processing is the bottleneck,
// as in a plain loop that receives its next batch once the last one is
// done. It reports false when ctx ended.
func (c *consumer) reserve(ctx context.Context) (int, bool) {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.room.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.capacity-c.held < c.batch {
		if ctx.Err() != nil {
			return 0, false
		}
		c.room.Wait()
	}
	if ctx.Err() != nil {
		return 0, false
	}
	n := min(c.capacity-c.held, maxBatch)
	c.held += n
	c.reserved += n
	if c.capacity-c.held >= c.batch {
		c.room.Signal() // room for another receive too
	}
	return n, true
}

// unhold frees room for n held messages: reserved for a receive that
// brought fewer, given back, or settled.
func (c *consumer) unhold(n int) {
	if n <= 0 {
		return
	}
	c.mu.Lock()
	c.held -= n
	if c.capacity-c.held >= c.batch {
		c.room.Signal() // one waiting receive loop; it passes the turn on
	}
	done := c.outClosed && c.held == 0
	c.mu.Unlock()
	if done {
		c.finish()
	}
}

// unhand frees a handed-out slot.
func (c *consumer) unhand() {
	c.mu.Lock()
	c.handed--
	c.mu.Unlock()
	select {
	case c.handedFreed <- struct{}{}:
	default:
	}
}

// release frees the slot and the room of one settled delivery.
func (c *consumer) release() {
	c.unhand()
	c.unhold(1)
}

// idle reports whether no message is buffered or handed out (receives in
// flight aside).
func (c *consumer) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held == c.reserved
}

// closeOut closes the delivery channel; the consumer finishes when nothing
// is held any more.
func (c *consumer) closeOut() {
	c.mu.Lock()
	close(c.out)
	c.outClosed = true
	done := c.held == 0
	c.mu.Unlock()
	if done {
		c.finish()
	}
}

// finish stops the heartbeat and the deleter (after its pending deletes)
// and unregisters the consumer.
func (c *consumer) finish() {
	c.finishOnce.Do(func() {
		close(c.finished)
		c.del.close()
		c.t.mu.Lock()
		delete(c.t.consumers, c)
		c.t.mu.Unlock()
	})
}

// drainedAndEmpty sends the deletes still pending, then reports whether the
// queue is empty.
func (c *consumer) drainedAndEmpty(ctx context.Context) bool {
	dctx, cancel := context.WithTimeout(ctx, closeFlushTimeout)
	c.del.drain(dctx)
	cancel()
	return c.queueEmpty(ctx)
}

// queueEmpty reports whether the queue holds no message: none visible, in
// flight (another consumer's, or a retry waiting out its delay) or delayed.
func (c *consumer) queueEmpty(ctx context.Context) bool {
	c.mu.Lock()
	url := c.url
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	out, err := c.t.client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		if ctx.Err() == nil {
			c.log.Debug("queue attributes", slog.Any("error", err))
		}
		return false
	}
	for _, v := range out.Attributes {
		if v != "0" {
			return false
		}
	}
	return true
}

// recreate looks the queue and its dead-letter queue up again (creating
// them) after SQS said one does not exist, for example after a local
// server restarted empty or the dead-letter queue was deleted. It logs the
// one it re-created, by its SQS name, or the new URL of one re-created by
// someone else.
func (c *consumer) recreate(ctx context.Context) {
	dlq := rococo.DeadLetterQueue(c.queue)
	c.mu.Lock()
	oldURL, oldDLQ := c.url, c.dlqURL
	c.mu.Unlock()
	c.t.forgetQueue(c.queue)
	c.t.forgetQueue(dlq)
	url, created, err := c.t.lookupQueue(ctx, c.queue)
	if err != nil {
		c.log.Debug("recreate queue", slog.Any("error", err))
		return
	}
	dlqURL, dlqCreated, err := c.t.lookupQueue(ctx, dlq)
	if err != nil {
		c.log.Debug("recreate dead-letter queue", slog.Any("error", err))
		return
	}
	c.mu.Lock()
	c.url, c.dlqURL = url, dlqURL
	c.mu.Unlock()
	switch {
	case created:
		c.log.Warn("queue was missing; recreated it", slog.String("recreated", QueueName(c.queue)), slog.String("url", url))
	case url != oldURL:
		c.log.Warn("queue was re-created elsewhere; using its new URL", slog.String("recreated", QueueName(c.queue)), slog.String("url", url))
	}
	switch {
	case dlqCreated:
		c.log.Warn("dead-letter queue was missing; recreated it", slog.String("recreated", QueueName(dlq)), slog.String("url", dlqURL))
	case dlqURL != oldDLQ:
		c.log.Warn("dead-letter queue was re-created elsewhere; using its new URL", slog.String("recreated", QueueName(dlq)), slog.String("url", dlqURL))
	}
}

// giveBack hands received but undelivered messages back at once, without
// costing them an attempt: as copies (see requeueAll), or on a FIFO queue
// and for copies that could not be sent by making them visible again
// (ChangeMessageVisibilityBatch to 0, 10 per request; their next receive
// then counts). It is best effort, bounded by giveBackTimeout: what fails
// comes back after its visibility timeout. It frees their room.
func (c *consumer) giveBack(ds []*delivery) {
	if len(ds) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), giveBackTimeout)
	defer cancel()
	for _, d := range ds {
		d.mu.Lock()
		d.settled = true
		d.mu.Unlock()
		c.forget(d)
	}
	rest := ds
	if !isFIFO(QueueName(c.queue)) {
		rs := make([]requeue, len(ds))
		for i, d := range ds {
			// A retry still waiting out a long delay keeps the rest of it.
			var delay time.Duration
			if at, ok := notBefore(d.attrs); ok {
				delay = max(time.Until(at), 0)
			}
			rs[i] = requeue{d: d, attempt: d.msg.Attempt, delay: delay}
		}
		failed, err := c.requeueAll(ctx, rs)
		if err != nil {
			c.log.Debug("hand back undelivered messages as copies", slog.Any("error", err))
		}
		rest = make([]*delivery, len(failed))
		for i, r := range failed {
			rest[i] = r.d
		}
	}
	for len(rest) > 0 {
		n := min(len(rest), maxBatch)
		c.makeVisible(ctx, rest[:n])
		rest = rest[n:]
	}
	c.unhold(len(ds))
}

// makeVisible makes up to 10 messages visible again at once.
func (c *consumer) makeVisible(ctx context.Context, ds []*delivery) {
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(ds))
	for i, d := range ds {
		entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(d.receipt), VisibilityTimeout: 0}
	}
	c.mu.Lock()
	url := c.url
	c.mu.Unlock()
	out, err := c.t.client.ChangeMessageVisibilityBatch(ctx, &awssqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries})
	switch {
	case err != nil:
		c.log.Debug("return undelivered messages", slog.Any("error", err))
	case len(out.Failed) > 0:
		c.log.Debug("return undelivered messages", slog.String("code", aws.ToString(out.Failed[0].Code)), slog.String("reason", aws.ToString(out.Failed[0].Message)))
	}
}

// hop sends copies of retries whose delay is longer than SQS's 15 minutes
// back for the rest of it (at most another 15 minutes), without handing them
// out. A copy that cannot be sent comes back after its visibility timeout
// and hops then.
func (c *consumer) hop(rs []requeue) {
	for _, r := range rs {
		r.d.mu.Lock()
		r.d.settled = true
		r.d.mu.Unlock()
		c.forget(r.d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), giveBackTimeout)
	defer cancel()
	if _, err := c.requeueAll(ctx, rs); err != nil {
		c.log.Warn("could not send a delayed retry back for the rest of its delay; it comes back after its visibility timeout", slog.Any("error", err))
	}
	c.unhold(len(rs))
}

// refreshURLs looks the queue and its dead-letter queue up again (bounded
// by settleTimeout) after SQS said one of them does not exist: it was
// deleted, or re-created under a new URL.
func (c *consumer) refreshURLs() {
	ctx, cancel := context.WithTimeout(c.t.ctx, settleTimeout)
	defer cancel()
	c.recreate(ctx)
}

func (c *consumer) forget(d *delivery) {
	c.mu.Lock()
	delete(c.active, d)
	c.mu.Unlock()
}

// heartbeat extends the visibility of unsettled deliveries until the
// consumer finishes or the transport closes.
func (c *consumer) heartbeat() {
	if c.visibility <= 0 {
		return
	}
	tick := time.NewTicker(min(max(c.visibility/4, 100*time.Millisecond), maxHeartbeatInterval))
	defer tick.Stop()
	for {
		select {
		case <-c.finished:
			return
		case <-c.t.ctx.Done():
			return
		case now := <-tick.C:
			c.extendDue(now)
		}
	}
}

// extendDue extends, in batches of 10, every unsettled delivery with less
// than half its visibility timeout left. Each delivery stays locked during
// its request, so a concurrent settle (a Retry's own visibility change, a
// delete) always comes after the extension.
func (c *consumer) extendDue(now time.Time) {
	c.mu.Lock()
	due := make([]*delivery, 0, len(c.active))
	for d := range c.active {
		if d.visibleUntil.Sub(now) < c.visibility/2 {
			due = append(due, d)
		}
	}
	url := c.url
	c.mu.Unlock()
	for len(due) > 0 {
		n := min(len(due), maxBatch)
		c.extend(url, due[:n], now)
		due = due[n:]
	}
}

func (c *consumer) extend(url string, ds []*delivery, now time.Time) {
	locked := make([]*delivery, 0, len(ds))
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, 0, len(ds))
	secs := make([]int32, 0, len(ds))
	for _, d := range ds {
		d.mu.Lock()
		if d.settled {
			d.mu.Unlock()
			continue
		}
		s := visibilitySeconds(c.visibility, now.Sub(d.receivedAt))
		if s <= 0 {
			if !d.maxedOut {
				d.maxedOut = true
				c.log.Warn("message reached SQS's 12 h visibility limit; it may be delivered again", slog.String("message_id", d.msg.ID))
			}
			d.mu.Unlock()
			continue
		}
		locked = append(locked, d)
		secs = append(secs, s)
		entries = append(entries, types.ChangeMessageVisibilityBatchRequestEntry{
			Id: aws.String(strconv.Itoa(len(entries))), ReceiptHandle: aws.String(d.receipt), VisibilityTimeout: s,
		})
	}
	defer func() {
		for _, d := range locked {
			d.mu.Unlock()
		}
	}()
	if len(entries) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(c.t.ctx, heartbeatTimeout)
	defer cancel()
	out, err := c.t.client.ChangeMessageVisibilityBatch(ctx, &awssqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		if c.t.ctx.Err() == nil {
			c.log.Warn("visibility heartbeat failed; retrying on the next beat", slog.Int("messages", len(entries)), slog.Any("error", err))
		}
		return
	}
	for _, s := range out.Successful {
		if i, ok := entryIndex(s.Id, len(locked)); ok {
			locked[i].visibleUntil = now.Add(time.Duration(secs[i]) * time.Second)
		}
	}
	for _, f := range out.Failed {
		c.log.Warn("visibility heartbeat refused", slog.String("code", aws.ToString(f.Code)), slog.String("reason", aws.ToString(f.Message)))
	}
	c.log.Debug("visibility extended", slog.Int("messages", len(out.Successful)))
}

// visibilitySeconds returns want in whole seconds (rounded up), capped so
// that the visibility ends within MaxVisibility of the receive, age ago.
func visibilitySeconds(want, age time.Duration) int32 {
	limit := MaxVisibility - ceilSeconds(age) - time.Second
	return int32(max(min(ceilSeconds(want), limit), 0) / time.Second)
}

func ceilSeconds(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

// queueVisibility reads the queue's VisibilityTimeout attribute.
func (t *Transport) queueVisibility(ctx context.Context, url string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	out, err := t.client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameVisibilityTimeout},
	})
	if err != nil {
		return 0, fmt.Errorf("read visibility timeout of %s: %w", url, err)
	}
	v := out.Attributes[string(types.QueueAttributeNameVisibilityTimeout)]
	secs, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("visibility timeout of %s is %q: %w", url, v, err)
	}
	return time.Duration(secs) * time.Second, nil
}

// retryTransient calls fn until it succeeds, returns an error that SQS
// itself answered (retrying cannot change it), or ctx ends.
func (t *Transport) retryTransient(ctx context.Context, what string, fn func() error) error {
	backoff := minBackoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			if attempt > 1 {
				t.setErr(nil)
			}
			return nil
		}
		if isPermanentAPIError(err) || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		err = fmt.Errorf("%s: %w", what, err)
		t.setErr(err)
		if attempt == 1 {
			t.log.Warn("SQS not reachable; retrying with backoff", slog.Any("error", err))
		}
		if !sleep(ctx, jitter(backoff)) {
			return errors.Join(err, ctx.Err())
		}
		if t.isClosed() {
			return ErrClosed
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// sleep waits d or until ctx ends, reporting whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// jitter returns d plus or minus up to 20%.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}

// MaxReadAhead caps ReadAhead.
const MaxReadAhead = 100

// ReadAhead returns how many messages a consumer with the given prefetch
// (SQS_NUM_THREADS) holds received but not handed out, at most: prefetch
// rounded up to whole batches of 10, at least one batch and at most
// MaxReadAhead. That keeps one receive of 10 in flight or ready per 10
// processors, so processors never wait for a receive, while a replica holds
// at most 10 + prefetch messages at SQS_NUM_THREADS up to 10 (20 at 10),
// never prefetch x 10.
func ReadAhead(prefetch int) int {
	batches := (max(prefetch, 1) + maxBatch - 1) / maxBatch
	return min(batches*maxBatch, MaxReadAhead)
}

// holdLimit returns how many messages a consumer with the given prefetch
// may hold (received, buffered or handed out, not settled).
func holdLimit(prefetch int) int {
	return prefetch + ReadAhead(prefetch)
}

// pollersFor returns how many receive loops a consumer holding up to
// capacity messages runs: one per 10 messages, at most maxPollers.
func pollersFor(capacity int) int {
	return min((capacity+maxBatch-1)/maxBatch, maxPollers)
}
