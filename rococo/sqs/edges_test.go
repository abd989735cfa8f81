package sqs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/transporttest"
)

func TestReadAhead(t *testing.T) {
	tests := []struct{ prefetch, want int }{
		{0, 10}, {1, 10}, {10, 10}, {11, 20}, {16, 20}, {32, 40}, {100, 100}, {1024, MaxReadAhead},
	}
	for _, tt := range tests {
		if got := ReadAhead(tt.prefetch); got != tt.want {
			t.Errorf("ReadAhead(%d) = %d, want %d", tt.prefetch, got, tt.want)
		}
	}
}

// TestReadAheadIsBounded: a consumer whose processors are all busy holds
// no more than prefetch + 10 messages invisible to other
// replicas.
func TestReadAheadIsBounded(t *testing.T) {
	const prefetch, total = 10, 80
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	bodies := make([]string, total)
	for i := range bodies {
		bodies[i] = fmt.Sprintf(`{"i":%d}`, i)
	}
	publish(t, tr, q, bodies...)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: prefetch})
	held := make([]rococo.Delivery, 0, prefetch)
	for range prefetch {
		held = append(held, next(t, ch, "a delivery for a busy processor"))
	}
	time.Sleep(time.Second) // let the receive loops fill what they may
	_, nv := queueCounts(t, tr, q)
	n, err := strconv.Atoi(nv)
	if err != nil {
		t.Fatalf("not visible = %q", nv)
	}
	if limit := prefetch + ReadAhead(prefetch); n > limit {
		t.Errorf("%d messages invisible with %d processors busy, want at most %d", n, prefetch, limit)
	}
	for _, d := range held {
		if err := d.Ack(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestShortPolling: with WaitTime NoWait (LISTEN_INTERVAL=0) receives do
// not wait: a message published to an idle queue is handed out within the
// 1 s pause between empty receives, and Close has no long poll to wait for.
func TestShortPolling(t *testing.T) {
	tr := newTestTransportWith(t, func(c *Config) { c.WaitTime = NoWait })
	q := transporttest.QueueName(t)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	time.Sleep(1500 * time.Millisecond) // idle: empty receives and pauses
	publish(t, tr, q, `{"short":1}`)
	start := time.Now()
	select {
	case d := <-ch:
		if took := time.Since(start); took > 2500*time.Millisecond {
			t.Errorf("message handed out after %v, want within the 1 s pause and a receive", took)
		}
		if err := d.Ack(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery within 5 s")
	}
	time.Sleep(300 * time.Millisecond)
	start = time.Now()
	_ = tr.Close()
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("Close took %v, want no long poll to wait for (at most 1.5 s)", took)
	}
}

// TestCloseLetsLongPollsEnd: a message that arrives while a long poll is in
// flight at Close is handed back when the poll ends, not left invisible for
// the visibility timeout.
func TestCloseLetsLongPollsEnd(t *testing.T) {
	tr := newTestTransportWith(t, func(c *Config) { c.WaitTime = 2 * time.Second; c.VisibilityTimeout = time.Minute })
	q := transporttest.QueueName(t)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	time.Sleep(300 * time.Millisecond) // a long poll is in flight
	closed := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		_ = tr.Close()
		closed <- time.Since(start)
	}()
	time.Sleep(200 * time.Millisecond)
	other := newTestTransport(t)
	publish(t, other, q, `{"late":1}`)
	select {
	case took := <-closed:
		if limit := 2*time.Second + receiveSlack + time.Second; took > limit {
			t.Errorf("Close took %v, want at most %v", took, limit)
		}
	case <-time.After(testTimeout):
		t.Fatal("Close did not return")
	}
	for range ch { // closed
	}
	och, _ := consume(t, other, q, rococo.ConsumeOptions{Prefetch: 1})
	select {
	case d := <-och:
		if m := d.Message(); m.Attempt != 1 || m.Redelivered {
			t.Errorf("Attempt %d Redelivered %v, want 1 and false", m.Attempt, m.Redelivered)
		}
		if err := d.Ack(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("message taken by the poll in flight at Close not visible within 5 s (left invisible for its visibility timeout)")
	}
}

// TestDeadLetterQueueRecreated: after the dead-letter queue was deleted, a
// DeadLetter fails without settling the delivery, and the next one goes to
// the re-created queue.
func TestDeadLetterQueueRecreated(t *testing.T) {
	var logs syncBuffer
	ctx := testCtx(t)
	tr, err := New(ctx, testConfig(t), slogTextLogger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	q := transporttest.QueueName(t)
	publish(t, tr, q, `{"dl":1}`)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	d := next(t, ch, "message to dead-letter")
	dlqURL, err := tr.queueURL(testCtx(t), rococo.DeadLetterQueue(q))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.client.DeleteQueue(testCtx(t), &awssqs.DeleteQueueInput{QueueUrl: aws.String(dlqURL)}); err != nil {
		t.Fatal(err)
	}
	first := d.DeadLetter(testCtx(t), errors.New("bad"))
	if first == nil {
		t.Fatal("DeadLetter to a deleted queue = nil")
	}
	if err := d.DeadLetter(testCtx(t), errors.New("bad")); err != nil {
		t.Fatalf("DeadLetter after the queue was re-created = %v (first: %v)", err, first)
	}
	// The log names the queue re-created, by its SQS name.
	if out, want := logs.String(), `msg="dead-letter queue was missing; recreated it" queue=`+q+` recreated=`+q+`-dlq `; !strings.Contains(out, want) ||
		strings.Contains(out, `msg="queue was missing`) || strings.Contains(out, ".dlq") {
		t.Errorf("logs do not hold %q alone, or name %s.dlq:\n%s", want, q, out)
	}
	dch, _ := consume(t, tr, rococo.DeadLetterQueue(q), rococo.ConsumeOptions{Prefetch: 1})
	dl := next(t, dch, "dead letter")
	if string(dl.Message().Body) != `{"dl":1}` {
		t.Errorf("dead letter = %s", dl.Message().Body)
	}

	if err := dl.Ack(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	requireEmpty(t, tr, q)
}
