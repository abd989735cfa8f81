package rabbitmq

import (
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
)

// TestCrashLoopEndsInDeadLetterQueue: a message whose consumer dies holding
// it on every delivery comes back with Attempt one higher and Redelivered
// each time, and after MaxDeliveries deliveries lands in the dead-letter
// queue with an error saying so, instead of coming back forever.
func TestCrashLoopEndsInDeadLetterQueue(t *testing.T) {
	a := newAdmin(t)
	q := queueName(t)
	cfg := testConfig()
	cfg.MaxDeliveries = 3
	pub := newTransport(t, cfg)
	ctx := ctxTimeout(t, 60*time.Second)
	if err := pub.Publish(ctx, q, msg(`{"kills":"its consumer"}`, nil)); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= cfg.MaxDeliveries; want++ {
		tr, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1})
		if err != nil {
			t.Fatal(err)
		}
		m := receive(t, dels).Message()
		if m.Attempt != want || m.Redelivered != (want > 1) {
			t.Errorf("delivery %d: Attempt %d Redelivered %v, want %d and %v", want, m.Attempt, m.Redelivered, want, want > 1)
		}
		_ = tr.Close() // dies holding it: the broker requeues it
	}
	tr := newTransport(t, cfg)
	dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	noDelivery(t, dels, time.Second)
	a.waitCount(rococo.DeadLetterQueue(q), 1)
	d := a.get(rococo.DeadLetterQueue(q))
	if e, _ := d.Headers[rococo.HeaderError].(string); !strings.Contains(e, "delivered 3 times without being settled") {
		t.Errorf("dead letter %s = %q, want the crash loop named", rococo.HeaderError, e)
	}
}
