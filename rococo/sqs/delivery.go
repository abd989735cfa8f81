package sqs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rococo-go/rococo/rococo"
)

// maxErrorBytes caps the HeaderError attribute of a dead-lettered message.
const maxErrorBytes = 4096

// errSettled is returned by a second settle of the same delivery.
var errSettled = errors.New("delivery already settled")

// delivery is one received SQS message.
type delivery struct {
	c          *consumer
	msg        *rococo.Message
	receipt    string
	attrs      map[string]types.MessageAttributeValue // as received, for the dead-letter copy
	groupID    string                                 // FIFO message group
	receivedAt time.Time                              // just before the receive request
	unsettled  int                                    // receives of this copy before this one (unsettled)

	mu       sync.Mutex // held by the heartbeat during a visibility change
	settled  bool
	maxedOut bool // the 12 h limit was logged

	// visibleUntil is read and written by the heartbeat goroutine only
	// (and set before the delivery is registered with the consumer).
	visibleUntil time.Time
}

var _ rococo.Delivery = (*delivery)(nil)

// newDelivery turns m into a delivery and registers it with the heartbeat.
// Attempt and Redelivered come from receivedAttempt; ID is the MessageId of
// the message first sent (a copy carries it in headerID).
func (c *consumer) newDelivery(m types.Message, receivedAt time.Time) *delivery {
	attempt, redelivered := receivedAttempt(m)
	id := aws.ToString(m.MessageId)
	if v, ok := m.MessageAttributes[headerID]; ok && aws.ToString(v.StringValue) != "" {
		id = aws.ToString(v.StringValue)
	}
	var headers map[string]string
	for k, v := range m.MessageAttributes {
		if v.StringValue == nil { // Binary attributes have no string form
			continue
		}
		if headers == nil {
			headers = make(map[string]string, len(m.MessageAttributes))
		}
		headers[k] = *v.StringValue
	}
	d := &delivery{
		c: c,
		msg: &rococo.Message{
			ID:          id,
			Body:        []byte(aws.ToString(m.Body)),
			Headers:     headers,
			Attempt:     attempt,
			Redelivered: redelivered,
			Queue:       c.queue,
		},
		receipt:      aws.ToString(m.ReceiptHandle),
		attrs:        m.MessageAttributes,
		groupID:      m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)],
		receivedAt:   receivedAt,
		unsettled:    unsettledReceives(m),
		visibleUntil: receivedAt.Add(c.visibility),
	}
	c.mu.Lock()
	c.active[d] = struct{}{}
	c.mu.Unlock()
	return d
}

// Message implements rococo.Delivery.
func (d *delivery) Message() *rococo.Message { return d.msg }

// begin marks the delivery settled and stops its heartbeat. It waits for a
// visibility extension in flight, so the settle's own request comes after
// it.
func (d *delivery) begin(op string) error {
	if d.c.t.isClosed() {
		return fmt.Errorf("%s message %q: %w", op, d.msg.ID, ErrClosed)
	}
	d.mu.Lock()
	if d.settled {
		d.mu.Unlock()
		return fmt.Errorf("%s message %q: %w", op, d.msg.ID, errSettled)
	}
	d.settled = true
	d.mu.Unlock()
	d.c.forget(d)
	return nil
}

// Ack settles the message as processed: its delete is queued and sent in a
// batch (DeleteMessageBatch) within a few milliseconds, and Ack returns
// once it is queued, so a processor's slot is free again at once. A delete
// that fails even after retries is logged at error level, and the message
// is delivered again after its visibility timeout (at-least-once). Ack
// blocks only when too many deletes are pending (SQS slow or down), until
// ctx ends. Close sends the deletes still pending.
func (d *delivery) Ack(ctx context.Context) error {
	if err := d.begin("ack"); err != nil {
		return err
	}
	defer d.c.release()
	if err := d.c.del.enqueue(ctx, d.receipt, d.msg.ID); err != nil {
		return fmt.Errorf("ack message %q from %q: %w", d.msg.ID, d.c.queue, err)
	}
	return nil
}

// reopen undoes begin after a settle that changed nothing, so the message
// can be settled again (the router releases it after a failed Retry or
// DeadLetter) and the heartbeat keeps it invisible meanwhile.
func (d *delivery) reopen() {
	d.mu.Lock()
	d.settled = false
	d.mu.Unlock()
	d.c.mu.Lock()
	d.c.active[d] = struct{}{}
	d.c.mu.Unlock()
}

// Retry settles a failed attempt: a copy of the message carrying Attempt + 1
// (x-rococo-attempt) is sent to the queue with DelaySeconds = delay (whole
// seconds, rounded up; a delay beyond SQS's 15 minutes is waited out in
// hops of 15 minutes), then the original is deleted (a batched delete, as
// for Ack). The copy keeps the message's attributes and its ID. When the
// copy cannot be sent, or on a FIFO queue (SQS refuses per-message delays
// there and a copy would lose its place in the group), the message's
// visibility timeout is set to delay instead: SQS then delivers it again
// with ApproximateReceiveCount, hence Attempt, one higher. SQS cannot
// record cause on the message; it is logged at debug level. When both fail
// nothing changed: the error says so and the delivery may still be
// released.
func (d *delivery) Retry(ctx context.Context, delay time.Duration, cause error) error {
	if err := d.begin("retry"); err != nil {
		return err
	}
	if err := d.handBack(ctx, d.msg.Attempt+1, delay); err != nil {
		d.reopen()
		return fmt.Errorf("retry message %q from %q: %w", d.msg.ID, d.c.queue, err)
	}
	d.c.release()
	d.c.log.Debug("retry", slog.String("message_id", d.msg.ID), slog.Int("attempt", d.msg.Attempt),
		slog.Duration("delay", delay), slog.Any("cause", cause))
	return nil
}

// Release hands the message back unprocessed, to come back after delay with
// the same Attempt and Redelivered false: as Retry, with a copy carrying
// the same attempt (or, when that fails or on a FIFO queue, a visibility
// change, after which the message comes back counted as a receive).
func (d *delivery) Release(ctx context.Context, delay time.Duration) error {
	if err := d.begin("release"); err != nil {
		return err
	}
	if err := d.handBack(ctx, d.msg.Attempt, delay); err != nil {
		d.reopen()
		return fmt.Errorf("release message %q from %q: %w", d.msg.ID, d.c.queue, err)
	}
	d.c.release()
	return nil
}

// handBack sends the message back to come back after delay with attempt:
// as a copy, else by changing its visibility (see Retry).
func (d *delivery) handBack(ctx context.Context, attempt int, delay time.Duration) error {
	if !isFIFO(QueueName(d.c.queue)) {
		failed, err := d.c.requeueAll(ctx, []requeue{{d: d, attempt: attempt, delay: delay}})
		if len(failed) == 0 {
			return nil
		}
		d.c.log.Warn("could not send the message back as a copy; changing its visibility instead (its next receive counts as an attempt)",
			slog.String("message_id", d.msg.ID), slog.Any("error", err))
	}
	if _, err := d.comeBackAfter(ctx, delay); err != nil {
		return fmt.Errorf("%w (nothing changed: it comes back after its visibility timeout)", err)
	}
	return nil
}

// comeBackAfter sets the message's visibility timeout so that it is
// received again after delay, and returns the timeout in seconds.
func (d *delivery) comeBackAfter(ctx context.Context, delay time.Duration) (int32, error) {
	secs := visibilitySeconds(max(delay, 0), time.Since(d.receivedAt))
	d.c.mu.Lock()
	url := d.c.url
	d.c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	_, err := d.c.t.client.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(url),
		ReceiptHandle:     aws.String(d.receipt),
		VisibilityTimeout: secs,
	})
	if err != nil {
		return 0, fmt.Errorf("change visibility: %w", err)
	}
	return secs, nil
}

// DeadLetter sends a copy of the message to the dead-letter queue (SQS name
// <queue>-dlq, see QueueName) with the original message
// attributes plus String attributes rococo.HeaderError (cause, at most
// 4 KiB), rococo.HeaderAttempt and rococo.HeaderOriginalQueue, then deletes
// the original (a batched delete, as for Ack). When the copy fails, nothing
// changed: the delivery may still be released (the router releases it to
// come back after a backoff), and a dead-letter queue SQS says does not
// exist is looked up again (re-created) for the next try. When the delete
// fails after the copy, the message is delivered again and may be
// dead-lettered twice, never lost.
func (d *delivery) DeadLetter(ctx context.Context, cause error) error {
	if err := d.begin("dead-letter"); err != nil {
		return err
	}
	if err := d.copyToDeadLetters(ctx, cause, d.msg.Attempt); err != nil {
		d.reopen()
		return fmt.Errorf("%w (nothing changed: it stays in %q)", err, QueueName(d.c.queue))
	}
	defer d.c.release()
	dlq := deadLetterQueue(d.c.queue)
	if err := d.c.del.enqueue(ctx, d.receipt, d.msg.ID); err != nil {
		return fmt.Errorf("dead-letter message %q from %q: copied to %q but not deleted, so it will be delivered again: %w",
			d.msg.ID, d.c.queue, dlq, err)
	}
	d.c.log.Info("dead-lettered", slog.String("message_id", d.msg.ID), slog.Int("attempt", d.msg.Attempt),
		slog.String("dead_letter_queue", dlq), slog.Any("cause", cause))
	return nil
}

// copyToDeadLetters sends a copy of the message to the dead-letter queue
// with cause and attempt in its rococo attributes (see DeadLetter). A
// dead-letter queue SQS says does not exist is looked up again (re-created)
// for the next try.
func (d *delivery) copyToDeadLetters(ctx context.Context, cause error, attempt int) error {
	attrs, dropped := deadLetterAttributes(d.attrs, cause, attempt, d.c.queue)
	if len(dropped) > 0 {
		d.c.log.Warn("dead letter keeps at most 10 message attributes; dropped some", slog.String("message_id", d.msg.ID), slog.Any("dropped", dropped))
	}
	d.c.mu.Lock()
	dlqURL := d.c.dlqURL
	d.c.mu.Unlock()
	dlq := deadLetterQueue(d.c.queue)
	in := &awssqs.SendMessageInput{
		QueueUrl:          aws.String(dlqURL),
		MessageBody:       aws.String(string(d.msg.Body)),
		MessageAttributes: attrs,
	}
	if isFIFO(dlq) {
		group := d.groupID
		if group == "" {
			group = "rococo"
		}
		in.MessageGroupId = aws.String(group)
		in.MessageDeduplicationId = aws.String(d.msg.ID)
	}
	sctx, cancel := context.WithTimeout(ctx, settleTimeout)
	_, err := d.c.t.client.SendMessage(sctx, in)
	cancel()
	if err != nil {
		if isNotExist(err) {
			d.c.refreshURLs()
		}
		return fmt.Errorf("dead-letter message %q from %q to %q: %w", d.msg.ID, d.c.queue, dlq, err)
	}
	return nil
}

// deadLetterAttributes returns the attributes of a dead-letter copy: the
// original ones (any data type) except earlier x-rococo- ones, plus the
// three rococo headers. SQS allows 10 attributes per message: when there
// are more, the originals last in name order are dropped and returned.
func deadLetterAttributes(orig map[string]types.MessageAttributeValue, cause error, attempt int, queue string) (map[string]types.MessageAttributeValue, []string) {
	msg := "unknown error"
	if cause != nil && cause.Error() != "" {
		msg = cause.Error()
	}
	keep := make([]string, 0, len(orig))
	for k := range maps.Keys(orig) {
		if !strings.HasPrefix(k, "x-rococo-") {
			keep = append(keep, k)
		}
	}
	slices.Sort(keep)
	var dropped []string
	if room := maxBatch - 3; len(keep) > room {
		keep, dropped = keep[:room], keep[room:]
	}
	attrs := make(map[string]types.MessageAttributeValue, len(keep)+3)
	for _, k := range keep {
		attrs[k] = orig[k]
	}
	attrs[rococo.HeaderError] = stringAttribute(sanitize(msg, maxErrorBytes))
	attrs[rococo.HeaderAttempt] = stringAttribute(strconv.Itoa(attempt))
	attrs[rococo.HeaderOriginalQueue] = stringAttribute(queue)
	return attrs, dropped
}
