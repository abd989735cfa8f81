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
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rococo-go/rococo/rococo"
)

// SQS counts every receive in ApproximateReceiveCount, and a message's
// attributes cannot change once it is sent. So that handing a message back
// unprocessed (Release, a give-back at a stop) costs no attempt and a retry
// costs exactly one, the transport hands a message back by sending a copy
// that carries its attempt, then deleting the original: the copy starts
// again at one receive. A message's Attempt is then its x-rococo-attempt
// (1 when absent, as for a message from Python rococo) plus its receives
// beyond the first, which only a consumer that died or let the visibility
// timeout run out causes (Redelivered).
const (
	// headerID carries the MessageId of the original message on a copy, so
	// Message.ID stays the same across retries.
	headerID = "x-rococo-message-id"
	// headerNotBefore carries the time (Unix milliseconds) before which a
	// copy must not be handed out: SQS delays a message by at most
	// maxDelay, so a longer delay is waited out in hops.
	headerNotBefore = "x-rococo-not-before"
	// maxDelay is the longest DelaySeconds SQS accepts.
	maxDelay = 15 * time.Minute
	// settleTimeout bounds each SQS request other than a receive: lookups,
	// sends, settles.
	settleTimeout = 10 * time.Second
)

// requeue is one message to send back to the queue as a copy.
type requeue struct {
	d       *delivery
	attempt int           // the copy's x-rococo-attempt
	delay   time.Duration // until the copy may be handed out
}

// requeueAll sends a copy of each message (SendMessageBatch, 10 per request
// and at most 256 KiB) that comes back after its delay with its attempt, and
// queues the delete of each original whose copy SQS accepted. It returns
// the messages whose copy was not sent, with the error; those are still in
// the queue, untouched.
func (c *consumer) requeueAll(ctx context.Context, rs []requeue) ([]requeue, error) {
	c.mu.Lock()
	url := c.url
	c.mu.Unlock()
	entries := make([]types.SendMessageBatchRequestEntry, len(rs))
	sizes := make([]int, len(rs))
	now := time.Now()
	for i, r := range rs {
		attrs, dropped := copyAttributes(r.d, r.attempt, now, r.delay)
		if len(dropped) > 0 {
			c.log.Warn("a message handed back keeps at most 10 message attributes; dropped some", slog.String("message_id", r.d.msg.ID), slog.Any("dropped", dropped))
		}
		entries[i] = types.SendMessageBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			MessageBody:       aws.String(string(r.d.msg.Body)),
			MessageAttributes: attrs,
			DelaySeconds:      int32(ceilSeconds(min(max(r.delay, 0), maxDelay)) / time.Second),
		}
		sizes[i] = len(r.d.msg.Body) + attributesSize(attrs)
	}
	var failed []requeue
	var errs []error
	for _, b := range sendBatches(sizes) {
		rctx, cancel := context.WithTimeout(ctx, settleTimeout)
		out, err := c.t.client.SendMessageBatch(rctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries[b[0]:b[1]]})
		cancel()
		if err != nil {
			if isNotExist(err) {
				c.refreshURLs()
			}
			failed = append(failed, rs[b[0]:b[1]]...)
			errs = append(errs, fmt.Errorf("send copies to %q: %w", c.queue, err))
			continue
		}
		for _, f := range out.Failed {
			if i, ok := entryIndex(f.Id, len(rs)); ok {
				failed = append(failed, rs[i])
				errs = append(errs, fmt.Errorf("send copy of message %q to %q: %s: %s", rs[i].d.msg.ID, c.queue, aws.ToString(f.Code), aws.ToString(f.Message)))
			}
		}
		for _, s := range out.Successful {
			i, ok := entryIndex(s.Id, len(rs))
			if !ok {
				continue
			}
			d := rs[i].d
			if err := c.del.enqueue(ctx, d.receipt, d.msg.ID); err != nil {
				// The copy is in the queue and the original comes back
				// after its visibility timeout: a duplicate, never a loss.
				c.log.Warn("handed a message back but could not delete the original; it will be delivered twice", slog.String("message_id", d.msg.ID), slog.Any("error", err))
			}
		}
	}
	return failed, errors.Join(errs...)
}

// copyAttributes returns the attributes of a copy of d: its original ones
// except the x-rococo- ones this transport sets, plus the attempt, the
// original id and, for a delay longer than SQS's, the time before which it
// must not be handed out. SQS allows 10 attributes per message: when there
// are more, the originals last in name order are dropped and returned.
func copyAttributes(d *delivery, attempt int, now time.Time, delay time.Duration) (map[string]types.MessageAttributeValue, []string) {
	own := map[string]string{
		rococo.HeaderAttempt: strconv.Itoa(attempt),
		headerID:             d.msg.ID,
	}
	if delay > maxDelay {
		own[headerNotBefore] = strconv.FormatInt(now.Add(delay).UnixMilli(), 10)
	}
	keep := make([]string, 0, len(d.attrs))
	for k := range maps.Keys(d.attrs) {
		if k != rococo.HeaderAttempt && k != headerID && k != headerNotBefore {
			keep = append(keep, k)
		}
	}
	slices.Sort(keep)
	var dropped []string
	if room := maxBatch - len(own); len(keep) > room {
		keep, dropped = keep[:room], keep[room:]
	}
	attrs := make(map[string]types.MessageAttributeValue, len(keep)+len(own))
	for _, k := range keep {
		attrs[k] = d.attrs[k]
	}
	for k, v := range own {
		attrs[k] = stringAttribute(v)
	}
	return attrs, dropped
}

// sendBatches splits messages of the given sizes into SendMessageBatch
// requests of at most 10 messages and maxBatchBytes (a larger message goes
// alone), as [start, end) index pairs.
func sendBatches(sizes []int) [][2]int {
	var out [][2]int
	for start := 0; start < len(sizes); {
		end, bytes := start, 0
		for end < len(sizes) && end-start < maxBatch && (end == start || bytes+sizes[end] <= maxBatchBytes) {
			bytes += sizes[end]
			end++
		}
		out = append(out, [2]int{start, end})
		start = end
	}
	return out
}

// receivedAttempt returns the Attempt and Redelivered of a received message:
// x-rococo-attempt (1 when absent or not a positive number) plus its
// receives beyond the first.
func receivedAttempt(m types.Message) (attempt int, redelivered bool) {
	base := 1
	if v, ok := m.MessageAttributes[rococo.HeaderAttempt]; ok {
		if n, err := strconv.Atoi(strings.TrimSpace(aws.ToString(v.StringValue))); err == nil && n > 0 {
			base = n
		}
	}
	receives := 1
	if n, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil && n > 0 {
		receives = n
	}
	return base + receives - 1, receives > 1
}

// notBefore returns when a copy with message attributes attrs, waiting out
// a delay longer than SQS's, may be handed out, and whether it carries such
// a time.
func notBefore(attrs map[string]types.MessageAttributeValue) (time.Time, bool) {
	v, ok := attrs[headerNotBefore]
	if !ok {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(aws.ToString(v.StringValue), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}
