package sqs

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const (
	// minDeleteWorkers is how many DeleteMessageBatch requests of one queue
	// may be in flight at once at least; a consumer with more receive loops
	// allows one per receive loop (see newDeleter).
	minDeleteWorkers = 4
	// deleteLinger is how long a delete waits for company before its batch
	// is sent with fewer than 10 entries.
	deleteLinger = 20 * time.Millisecond
	// maxPendingDeletes bounds the deletes waiting to be sent; Ack blocks
	// beyond it (back-pressure when SQS is slow).
	maxPendingDeletes = 1000
	// deleteAttempts is how often one batch (or its failed entries) is
	// tried, on top of the SDK's own retries of each request.
	deleteAttempts = 3
	// deleteTimeout bounds one DeleteMessageBatch request (with the SDK's
	// retries).
	deleteTimeout = 30 * time.Second
	// closeFlushTimeout bounds the flush of pending deletes when a consumer
	// finishes or the transport closes.
	closeFlushTimeout = 10 * time.Second
)

// deleter deletes the messages of one queue in the background, in batches.
// A delete is queued (Ack returns at once) and sent with DeleteMessageBatch
// when 10 are pending or deleteLinger after the oldest pending one was
// queued, by one of its workers: one per receive loop of the consumer, at
// least minDeleteWorkers, so as many deletes may be in flight as a plain
// loop with as many receivers has, and deletes keep up with receives.
// Failed requests and failed entries that are not the sender's fault are
// tried again (deleteAttempts in all); a delete that still fails is logged
// at error level with the message id: the message is then delivered again
// after its visibility timeout (at-least-once, never lost, never dropped in
// silence).
type deleter struct {
	client *awssqs.Client
	url    string
	log    *slog.Logger

	mu        sync.Mutex
	pending   []deleteReq
	inFlight  int           // batches being sent
	lingering bool          // a worker waits for a partial batch to fill
	changed   chan struct{} // closed and replaced when pending or inFlight shrink
	stopped   bool

	wake chan struct{} // capacity 1: pending is not empty
	full chan struct{} // capacity 1: a batch is full
	stop chan struct{} // closed by close
	done sync.WaitGroup
}

type deleteReq struct {
	receipt, id string    // id is the message id, for logs
	at          time.Time // when it was queued
}

// newDeleter starts a deleter with workers workers (at least
// minDeleteWorkers).
func newDeleter(client *awssqs.Client, url string, log *slog.Logger, workers int) *deleter {
	d := &deleter{
		client: client, url: url, log: log,
		changed: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		full:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
	}
	for range max(workers, minDeleteWorkers) {
		d.done.Go(d.run)
	}
	return d
}

// enqueue queues the delete of one message. It blocks only while
// maxPendingDeletes are pending, until ctx ends. After close it returns
// ErrClosed.
func (d *deleter) enqueue(ctx context.Context, receipt, id string) error {
	for {
		d.mu.Lock()
		if d.stopped {
			d.mu.Unlock()
			return ErrClosed
		}
		if len(d.pending) < maxPendingDeletes {
			d.pending = append(d.pending, deleteReq{receipt: receipt, id: id, at: time.Now()})
			n := len(d.pending)
			d.mu.Unlock()
			notify(d.wake)
			if n >= maxBatch {
				notify(d.full)
			}
			return nil
		}
		changed := d.changed
		d.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("queue delete: %w", ctx.Err())
		}
	}
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// next returns the batch a worker should send now: maxBatch pending deletes
// as soon as there are that many, fewer once the oldest has waited
// deleteLinger. Otherwise it returns how long the oldest still has to wait
// (0 when nothing is pending or another worker already waits for it); the
// caller then waits that long and calls next again, with lingering set.
func (d *deleter) next(now time.Time) ([]deleteReq, time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := len(d.pending)
	if n == 0 {
		return nil, 0
	}
	if n < maxBatch {
		if wait := d.pending[0].at.Add(deleteLinger).Sub(now); wait > 0 {
			if d.lingering {
				return nil, 0 // that worker sends it
			}
			d.lingering = true
			return nil, wait
		}
	}
	return d.takeLocked(), 0
}

// take removes up to maxBatch pending deletes and counts them in flight.
func (d *deleter) take() []deleteReq {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.takeLocked()
}

func (d *deleter) takeLocked() []deleteReq {
	n := min(len(d.pending), maxBatch)
	if n == 0 {
		return nil
	}
	batch := make([]deleteReq, n)
	copy(batch, d.pending)
	d.pending = append(d.pending[:0], d.pending[n:]...)
	d.inFlight++
	d.broadcastLocked()
	if len(d.pending) > 0 {
		notify(d.wake) // another worker takes the rest
	}
	return batch
}

func (d *deleter) sent() {
	d.mu.Lock()
	d.inFlight--
	d.broadcastLocked()
	d.mu.Unlock()
}

func (d *deleter) broadcastLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// run is one worker. It sends batches while there are any to send: a full
// one at once, a partial one deleteLinger after its oldest delete was
// queued (one worker at a time waits for that). On stop it sends what is
// pending and returns.
func (d *deleter) run() {
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		select {
		case <-d.wake:
		case <-d.stop:
			d.flush()
			return
		}
		for {
			select {
			case <-d.stop: // what is left goes out within closeFlushTimeout
				d.flush()
				return
			default:
			}
			batch, wait := d.next(time.Now())
			if wait > 0 {
				linger.Reset(wait)
				stopped := false
				select {
				case <-linger.C:
				case <-d.full: // may be stale: next checks again
					linger.Stop()
				case <-d.stop:
					linger.Stop()
					stopped = true
				}
				d.mu.Lock()
				d.lingering = false
				d.mu.Unlock()
				if stopped {
					d.flush()
					return
				}
				continue
			}
			if batch == nil {
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
			d.send(ctx, batch)
			cancel()
			d.sent()
		}
	}
}

// flush sends every pending delete, bounded by closeFlushTimeout.
func (d *deleter) flush() {
	ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
	defer cancel()
	for batch := d.take(); batch != nil; batch = d.take() {
		d.send(ctx, batch)
		d.sent()
	}
}

// drain waits until every delete queued so far has been sent (or given up
// on), or ctx ends.
func (d *deleter) drain(ctx context.Context) {
	for {
		d.mu.Lock()
		idle := len(d.pending) == 0 && d.inFlight == 0
		changed := d.changed
		d.mu.Unlock()
		if idle {
			return
		}
		notify(d.wake)
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// close refuses new deletes, sends the pending ones (bounded by
// closeFlushTimeout) and waits for the workers.
func (d *deleter) close() {
	d.mu.Lock()
	first := !d.stopped
	d.stopped = true
	d.mu.Unlock()
	if first {
		close(d.stop)
	}
	d.done.Wait()
}

// send deletes batch, trying failed requests and retryable failed entries
// again, and logs what still failed.
func (d *deleter) send(ctx context.Context, batch []deleteReq) {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		failed, err := d.sendOnce(ctx, batch)
		if err == nil && len(failed) == 0 {
			return
		}
		if attempt == deleteAttempts || ctx.Err() != nil {
			if err != nil {
				d.logFailure(batch, err.Error())
			}
			for _, f := range failed {
				d.logFailure([]deleteReq{f.req}, f.reason)
			}
			return
		}
		if err == nil {
			retry := make([]deleteReq, 0, len(failed))
			for _, f := range failed {
				if f.senderFault {
					d.logFailure([]deleteReq{f.req}, f.reason)
					continue
				}
				retry = append(retry, f.req)
			}
			if len(retry) == 0 {
				return
			}
			batch = retry
		}
		if !sleep(ctx, jitter(backoff)) {
			continue // the next attempt fails fast and logs
		}
		backoff *= 4
	}
}

type failedDelete struct {
	req         deleteReq
	reason      string
	senderFault bool
}

// sendOnce sends one DeleteMessageBatch. It returns the request's error, or
// the entries SQS refused (and any entry missing from its answer).
func (d *deleter) sendOnce(ctx context.Context, batch []deleteReq) ([]failedDelete, error) {
	entries := make([]types.DeleteMessageBatchRequestEntry, len(batch))
	for i, r := range batch {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.receipt)}
	}
	out, err := d.client.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(d.url), Entries: entries})
	if err != nil {
		return nil, err
	}
	answered := make([]bool, len(batch))
	for _, s := range out.Successful {
		if i, ok := entryIndex(s.Id, len(batch)); ok {
			answered[i] = true
		}
	}
	var failed []failedDelete
	for _, f := range out.Failed {
		if i, ok := entryIndex(f.Id, len(batch)); ok && !answered[i] {
			answered[i] = true
			failed = append(failed, failedDelete{req: batch[i], reason: aws.ToString(f.Code) + ": " + aws.ToString(f.Message), senderFault: f.SenderFault})
		}
	}
	for i, ok := range answered {
		if !ok {
			failed = append(failed, failedDelete{req: batch[i], reason: "missing from the DeleteMessageBatch response"})
		}
	}
	return failed, nil
}

func (d *deleter) logFailure(reqs []deleteReq, reason string) {
	for _, r := range reqs {
		d.log.Error("delete failed; the message will be delivered again after its visibility timeout",
			slog.String("message_id", r.id), slog.String("error", reason))
	}
}

func entryIndex(id *string, n int) (int, bool) {
	i, err := strconv.Atoi(aws.ToString(id))
	return i, err == nil && i >= 0 && i < n
}
