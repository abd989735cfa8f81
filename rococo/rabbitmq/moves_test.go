package rabbitmq

import (
	"context"
	"errors"
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
