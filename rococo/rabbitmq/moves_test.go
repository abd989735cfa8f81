package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/router"
)

// TestFailingDeadLetterMovesNeitherLoseNorSpin: with the dead-letter queue
// deleted or refusing every message after the service started, an always
// failing message is processed about once per backoff (not thousands of
// times a second, as when the move failure requeued it at once), and lands
// in the dead-letter queue once it accepts messages again.
func TestFailingDeadLetterMovesNeitherLoseNorSpin(t *testing.T) {
	tests := []struct {
		name     string
		refusing bool
		maxCalls int64
	}{
		// The transport declares a deleted queue again on the next move.
		{"deleted", false, 3},
		{"reject-publish", true, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTransport(t, testConfig())
			a := newAdmin(t)
			q := queueName(t)
			ctx := ctxTimeout(t, 30*time.Second)
			broken, repair := breakAfterConsumer(t, q, tt.refusing)
			const backoff = 200 * time.Millisecond
			var calls atomic.Int64
			r, err := router.New(tr, rococo.MessageProcessorFunc(func(context.Context, *rococo.Message) error {
				calls.Add(1)
				return errors.New("always fails")
			}), router.Config{Queue: q, MaxRetries: 1, RetryBackoff: backoff, MaxRetryBackoff: backoff, ShutdownTimeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- r.Run(runCtx) }()
			defer func() {
				stop()
				if err := <-done; err != nil {
					t.Errorf("router Run() = %v", err)
				}
			}()
			<-broken
			if err := tr.Publish(ctx, q, msg(`{"always":"fails"}`, nil)); err != nil {
				t.Fatal(err)
			}
			const window = 2 * time.Second
			time.Sleep(window)
			if n := calls.Load(); n > tt.maxCalls || n == 0 {
				t.Errorf("processor called %d times in %v with a %v backoff, want 1 to %d", n, window, backoff, tt.maxCalls)
			}
			repair()
			a.waitCount(rococo.DeadLetterQueue(q), 1)
			if n := a.count(q); n != 0 {
				t.Errorf("queue holds %d messages, want 0", n)
			}
		})
	}
}

// TestRefusedMovesCostNoAttempt: while every delay queue and the
// dead-letter queue refuse messages (a reject-publish policy on the test's
// own node), an always failing message is processed once and held, never
// requeued (which the broker would mark redelivered, counted as a crash):
// once the policy is gone it comes back at the attempt that failed and
// reaches the dead-letter queue at MAX_RETRIES, its attempt not raised by
// the refusals.
func TestRefusedMovesCostNoAttempt(t *testing.T) {
	n := startNode(t)
	tr, err := New(n.config(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	a := n.admin()
	q := "rococo-test.refused"
	n.ctl("set_policy", "refuse", `^rococo-test\.refused\.(retry\..*|dlq)$`, `{"max-length":0,"overflow":"reject-publish"}`, "--apply-to", "queues")
	const maxRetries, backoff = 3, 200 * time.Millisecond
	var calls atomic.Int64
	r, err := router.New(tr, rococo.MessageProcessorFunc(func(context.Context, *rococo.Message) error {
		calls.Add(1)
		return errors.New("always fails")
	}), router.Config{Queue: q, MaxRetries: maxRetries, RetryBackoff: backoff, MaxRetryBackoff: backoff, ShutdownTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 60*time.Second)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("router Run() = %v", err)
		}
	}()
	if err := tr.Publish(ctx, q, msg(`{"always":"fails"}`, nil)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if c := calls.Load(); c != 1 {
		t.Errorf("processor called %d times in 3 s while every move was refused, want 1 (then held)", c)
	}
	n.ctl("clear_policy", "refuse")
	a.waitCount(rococo.DeadLetterQueue(q), 1)
	d := a.get(rococo.DeadLetterQueue(q))
	if got := d.Headers[rococo.HeaderAttempt]; fmt.Sprint(got) != fmt.Sprint(maxRetries) {
		t.Errorf("dead-lettered at attempt %v, want %d (refused moves cost no attempt); processor called %d times", got, maxRetries, calls.Load())
	}
	// The first failure's retry copy was refused: the message came back
	// at the same attempt (a give-back), so it ran once more than that.
	if c := calls.Load(); c != maxRetries+1 {
		t.Errorf("processor called %d times in all, want %d", c, maxRetries+1)
	}
}
