package sqs

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rococo-go/rococo/rococo"
)

// DeadLetter is one message of a queue's dead-letter queue (SQS name
// <queue>-dlq, see QueueName).
type DeadLetter struct {
	// ID is the SQS MessageId of the dead-letter copy.
	ID string
	// Body is the message body.
	Body []byte
	// Error is the error that dead-lettered it (HeaderError).
	Error string
	// Attempt is the attempt that failed (HeaderAttempt).
	Attempt int
	// Queue is the queue it was dead-lettered from (HeaderOriginalQueue).
	Queue string
}

// Replayed counts what ReplayDeadLetters did.
type Replayed struct {
	// Moved were sent to their queue and deleted from the dead-letter queue.
	Moved int
	// Kept stayed in the dead-letter queue (not among the ids asked for).
	Kept int
}

// deadLetterHold is how long, in seconds, a received dead letter stays
// invisible: the walk renews it while it runs (see dlqWalk.renew) and makes
// what it did not remove visible again when it ends, so this only counts
// when the process dies first. A variable for the tests.
var deadLetterHold int32 = 60

// DeadLetters returns up to limit messages (all for limit <= 0) of the
// dead-letter queue of queue on the SQS of tc (what FromEnv returns),
// without removing them: each received message is made visible again when
// the listing ends. On a FIFO queue only the oldest message of each message
// group can be listed (SQS hands out the next only after it is deleted).
func DeadLetters(ctx context.Context, tc rococo.TransportConfig, queue string, limit int) ([]DeadLetter, error) {
	var out []DeadLetter
	err := walkDeadLetters(ctx, tc, queue, max(limit, 0), func(_ *dlqWalk, m types.Message) (bool, error) {
		out = append(out, deadLetterOf(m))
		return false, nil
	})
	return out, err
}

// DeadLetterCount returns about how many messages the dead-letter queue of
// queue holds on the SQS of tc (what FromEnv returns): SQS's approximate
// counts of its visible, invisible and delayed messages, added up. A queue
// that does not exist holds none.
func DeadLetterCount(ctx context.Context, tc rococo.TransportConfig, queue string) (int, error) {
	e, ok := tc.(envConfig)
	if !ok {
		return 0, fmt.Errorf("dead letters of queue %q: the transport is not SQS's (%T)", queue, tc)
	}
	t, err := New(ctx, e.cfg, nil)
	if err != nil {
		return 0, err
	}
	defer t.Close()
	client := t.Client()
	dlq := deadLetterQueue(queue)
	got, err := client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(dlq)})
	if isNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("dead letters of %s: %w", dlq, err)
	}
	names := []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
		types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed}
	out, err := client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: got.QueueUrl, AttributeNames: names})
	if err != nil {
		return 0, fmt.Errorf("dead letters of %s: count: %w", dlq, err)
	}
	n := 0
	for _, name := range names {
		v, _ := strconv.Atoi(out.Attributes[string(name)])
		n += v
	}
	return n, nil
}

// ReplayDeadLetters moves the messages of the dead-letter queue of queue
// (those whose ID is in ids; all when ids is empty) back to the queue they
// were dead-lettered from: each is sent there with its body and attributes
// (less the dead-letter ones) and, once SQS accepted it, deleted from the
// dead-letter queue. A message whose send fails stays there.
//
// Each message is replayed at most once per call, and one that fails again
// while the replay runs (the service is running and still refuses it) is
// left in the dead-letter queue, not replayed again: on a standard queue
// every message there is received (and held invisible) before the first
// is sent, so a copy dead-lettered later is never received; on a FIFO
// queue, where SQS hands out a message group's next message only after the
// one before is deleted, messages are sent as they are received, and a
// copy dead-lettered again (recognized by its deduplication id, the
// MessageId of the replayed message) ends its group for this call. The
// messages not replayed are made visible again when it returns.
func ReplayDeadLetters(ctx context.Context, tc rococo.TransportConfig, queue string, ids []string) (Replayed, error) {
	var r Replayed
	urls := map[string]string{}
	sent := map[string]bool{} // the MessageIds SQS gave the replayed messages
	err := walkDeadLetters(ctx, tc, queue, 0, func(w *dlqWalk, m types.Message) (bool, error) {
		id := aws.ToString(m.MessageId)
		if w.fifo && sent[m.Attributes[string(types.MessageSystemAttributeNameMessageDeduplicationId)]] {
			return false, nil // replayed by this call and dead-lettered again
		}
		if len(ids) > 0 && !slices.Contains(ids, id) {
			r.Kept++
			return false, nil
		}
		target := deadLetterOf(m).Queue
		if target == "" {
			target = queue
		}
		name := QueueName(target)
		if urls[name] == "" {
			got, err := w.client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(name)})
			if err != nil {
				return false, fmt.Errorf("replay message %q: the queue %q: %w (the message stays in the dead-letter queue)", id, name, err)
			}
			urls[name] = aws.ToString(got.QueueUrl)
		}
		in := &awssqs.SendMessageInput{QueueUrl: aws.String(urls[name]), MessageBody: m.Body, MessageAttributes: replayAttributes(m.MessageAttributes)}
		if isFIFO(name) {
			in.MessageGroupId, in.MessageDeduplicationId = aws.String("rococo"), aws.String(id)
		}
		out, err := w.client.SendMessage(ctx, in)
		if err != nil {
			return false, fmt.Errorf("replay message %q to %q: %w (it stays in the dead-letter queue)", id, name, err)
		}
		sent[aws.ToString(out.MessageId)] = true
		if _, err := w.client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(w.url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			return false, fmt.Errorf("remove replayed message %q from the dead-letter queue (it was sent to %q, and may now be in both): %w", id, name, err)
		}
		r.Moved++
		return true, nil
	})
	return r, err
}

// dlqWalk is one pass over a dead-letter queue: what it received, held
// invisible until it ends.
type dlqWalk struct {
	client *awssqs.Client
	url    string
	name   string
	fifo   bool
	// seen is every message received, by MessageId (a message SQS hands
	// out again is the same one, with a new receipt handle); held are the
	// ones not removed, in the order received.
	seen map[string]*heldLetter
	held []*heldLetter
	// renewed is when renew last looked at held.
	renewed time.Time
}

type heldLetter struct {
	receipt string
	until   time.Time // when it becomes visible again unless renewed
	removed bool
}

// walkDeadLetters receives the messages of the dead-letter queue of queue,
// each once, and calls fn on each; fn reports whether it removed it. It
// stops receiving when a receive brings no message it did not already
// receive (the queue has no more), at limit messages when limit > 0, or at
// fn's first error. On a standard queue every message is received before fn
// is first called (so that what fn sends and comes back is not received);
// on a FIFO queue fn is called as they come (see ReplayDeadLetters). The
// messages not removed are made visible again at the end.
func walkDeadLetters(ctx context.Context, tc rococo.TransportConfig, queue string, limit int, fn func(*dlqWalk, types.Message) (removed bool, err error)) error {
	e, ok := tc.(envConfig)
	if !ok {
		return fmt.Errorf("dead letters of queue %q: the transport is not SQS's (%T)", queue, tc)
	}
	t, err := New(ctx, e.cfg, nil)
	if err != nil {
		return err
	}
	defer t.Close()
	w := &dlqWalk{client: t.Client(), name: deadLetterQueue(queue), seen: map[string]*heldLetter{}}
	w.fifo = isFIFO(w.name)
	got, err := w.client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(w.name)})
	if isNotExist(err) {
		return nil // the service never dead-lettered anything
	}
	if err != nil {
		return fmt.Errorf("dead letters of %s: %w", w.name, err)
	}
	w.url = aws.ToString(got.QueueUrl)
	defer func() {
		// Give back what was only looked at, on a context of its own: an
		// interrupted walk still returns its messages.
		back, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		w.changeVisibility(back, w.held, 0)
	}()
	call := func(m types.Message) error {
		w.renew(ctx)
		h := w.seen[aws.ToString(m.MessageId)]
		m.ReceiptHandle = aws.String(h.receipt) // the latest, should it have been received again
		removed, err := fn(w, m)
		h.removed = h.removed || removed
		return err
	}
	var pending []types.Message
	for taken := 0; limit <= 0 || taken < limit; {
		w.renew(ctx)
		out, err := w.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(w.url),
			MaxNumberOfMessages:         maxBatch,
			VisibilityTimeout:           deadLetterHold,
			WaitTimeSeconds:             1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return fmt.Errorf("dead letters of %s: receive: %w", w.name, err)
		}
		var fresh []types.Message
		for _, m := range out.Messages {
			if w.received(m) && (limit <= 0 || taken < limit) {
				fresh = append(fresh, m)
				taken++
			}
		}
		if len(fresh) == 0 {
			break
		}
		if !w.fifo {
			pending = append(pending, fresh...)
			continue
		}
		for _, m := range fresh {
			if err := call(m); err != nil {
				return err
			}
		}
	}
	for _, m := range pending {
		if err := call(m); err != nil {
			return err
		}
	}
	return nil
}

// received records m, just received, as held, and reports whether it is
// new to this walk. A message received again (its invisibility ran out)
// keeps only its new receipt handle, which is the one that counts; one
// that was removed and is there again is held again, to be given back.
func (w *dlqWalk) received(m types.Message) bool {
	id := aws.ToString(m.MessageId)
	until := time.Now().Add(time.Duration(deadLetterHold) * time.Second)
	if h := w.seen[id]; h != nil {
		h.receipt, h.until = aws.ToString(m.ReceiptHandle), until
		h.removed = false
		return false
	}
	h := &heldLetter{receipt: aws.ToString(m.ReceiptHandle), until: until}
	w.seen[id], w.held = h, append(w.held, h)
	return true
}

// renew keeps the held messages invisible for another deadLetterHold when
// half of it has run out, so that a long walk does not receive them again
// (and, on a FIFO queue, their groups stay closed). It is best effort: one
// received again is recognized by its MessageId.
func (w *dlqWalk) renew(ctx context.Context) {
	if time.Since(w.renewed) < time.Second {
		return
	}
	w.renewed = time.Now()
	soon := w.renewed.Add(time.Duration(deadLetterHold) * time.Second / 2)
	var due []*heldLetter
	for _, h := range w.held {
		if !h.removed && h.until.Before(soon) {
			due = append(due, h)
		}
	}
	if len(due) > 0 {
		w.changeVisibility(ctx, due, deadLetterHold)
	}
}

// changeVisibility makes the messages of hs not removed invisible for
// seconds from now (0: visible at once), ten to a request; errors are
// ignored (a message whose change fails becomes visible at its time).
func (w *dlqWalk) changeVisibility(ctx context.Context, hs []*heldLetter, seconds int32) {
	var entries []types.ChangeMessageVisibilityBatchRequestEntry
	var changed []*heldLetter
	flush := func() {
		if len(entries) == 0 {
			return
		}
		out, err := w.client.ChangeMessageVisibilityBatch(ctx, &awssqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(w.url), Entries: entries})
		if err == nil {
			until := time.Now().Add(time.Duration(seconds) * time.Second)
			for _, s := range out.Successful {
				if i, err := strconv.Atoi(aws.ToString(s.Id)); err == nil && i < len(changed) {
					changed[i].until = until
				}
			}
		}
		entries, changed = entries[:0], changed[:0]
	}
	for _, h := range hs {
		if h.removed {
			continue
		}
		entries = append(entries, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(len(entries))), ReceiptHandle: aws.String(h.receipt), VisibilityTimeout: seconds})
		changed = append(changed, h)
		if len(entries) == maxBatch {
			flush()
		}
	}
	flush()
}

func deadLetterOf(m types.Message) DeadLetter {
	attr := func(k string) string { return aws.ToString(m.MessageAttributes[k].StringValue) }
	n, _ := strconv.Atoi(attr(rococo.HeaderAttempt))
	return DeadLetter{ID: aws.ToString(m.MessageId), Body: []byte(aws.ToString(m.Body)), Error: attr(rococo.HeaderError), Attempt: n, Queue: attr(rococo.HeaderOriginalQueue)}
}

// replayAttributes are the attributes of a replayed message: the
// dead-letter ones dropped, so it starts again at attempt 1.
func replayAttributes(a map[string]types.MessageAttributeValue) map[string]types.MessageAttributeValue {
	out := map[string]types.MessageAttributeValue{}
	for k, v := range a {
		if !strings.HasPrefix(k, "x-rococo-") {
			out[k] = v
		}
	}
	return out
}
