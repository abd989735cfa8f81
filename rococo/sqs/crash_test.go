package sqs

import (
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/transporttest"
)

// TestCrashLoopEndsInDeadLetterQueue: a message whose consumer dies holding
// it (the transport closes without settling it, as a killed process) comes
// back Redelivered at the next attempt each time, and once it was received
// MaxDeliveries times without being settled it goes to the dead-letter
// queue with an error naming the crash loop, instead of to a processor.
func TestCrashLoopEndsInDeadLetterQueue(t *testing.T) {
	const limit = 2
	// 3 s: a receive still in flight when a transport closes (1 s long
	// polls) ends before the held message is visible again, so it is not
	// received and handed back by the closing transport itself.
	edit := func(c *Config) { c.MaxDeliveries = limit; c.VisibilityTimeout = 3 * time.Second }
	q := transporttest.QueueName(t)
	publish(t, newTestTransportWith(t, edit), q, `{"crash":"loop"}`)
	for attempt := 1; attempt <= limit; attempt++ {
		tr := newTestTransportWith(t, edit)
		ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
		m := next(t, ch, "delivery the consumer dies holding").Message()
		if m.Attempt != attempt || m.Redelivered != (attempt > 1) {
			t.Fatalf("delivery %d: Attempt %d Redelivered %v, want attempt %d", attempt, m.Attempt, m.Redelivered, attempt)
		}
		tr.Close() // the delivery is never settled; its visibility timeout runs out
	}

	tr := newTestTransportWith(t, edit)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	select {
	case d := <-ch:
		t.Fatalf("crash-looped message handed out again: attempt %d", d.Message().Attempt)
	case <-time.After(5 * time.Second): // 3 s visibility timeout, 1 s long polls
	}
	dch, _ := consume(t, tr, rococo.DeadLetterQueue(q), rococo.ConsumeOptions{Prefetch: 1})
	dl := next(t, dch, "crash-looped dead letter")
	m := dl.Message()
	if string(m.Body) != `{"crash":"loop"}` {
		t.Errorf("dead letter = %s", m.Body)
	}
	if e := m.Headers[rococo.HeaderError]; !strings.Contains(e, "crash loop") || !strings.Contains(e, "MAX_RETRIES=2") || !strings.Contains(e, "received 2 times without being settled") {
		t.Errorf("%s = %q, want it to name the crash loop", rococo.HeaderError, e)
	}
	if got := m.Headers[rococo.HeaderAttempt]; got != "2" {
		t.Errorf("%s = %q, want 2", rococo.HeaderAttempt, got)
	}
	if got := m.Headers[rococo.HeaderOriginalQueue]; got != q {
		t.Errorf("%s = %q, want %q", rococo.HeaderOriginalQueue, got, q)
	}
	if err := dl.Ack(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	requireEmpty(t, tr, q)
}

// TestCrashLoopLimitOff: without MaxDeliveries a message whose consumer
// died holding it is handed out again however often that happened.
func TestCrashLoopLimitOff(t *testing.T) {
	edit := func(c *Config) { c.VisibilityTimeout = 3 * time.Second }
	q := transporttest.QueueName(t)
	publish(t, newTestTransportWith(t, edit), q, `{"crash":"again"}`)
	for attempt := 1; attempt <= 3; attempt++ {
		tr := newTestTransportWith(t, edit)
		ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
		d := next(t, ch, "delivery")
		if got := d.Message().Attempt; got != attempt {
			t.Fatalf("Attempt = %d, want %d", got, attempt)
		}
		if attempt == 3 {
			if err := d.Ack(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			requireEmpty(t, tr, q)
		}
		tr.Close()
	}
}
