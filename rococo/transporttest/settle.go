package transporttest

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

// The cases of this file check the settlement contract of rococo.Delivery
// (Release, attempts, Redelivered) and, through a router over the
// transport, what the runtime promises around it: shutdown does not cost an
// attempt, and a retry or dead-letter queue that cannot be reached neither
// loses a message nor makes it loop hot.

func testShortRetryNotBlocked(t *testing.T, s *suite) {
	q := QueueName(t)
	s.publish(q, `{"long":true}`)
	s.publish(q, `{"short":true}`)
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 2})
	long, short := s.next(ch, "first message"), s.next(ch, "second message")
	if string(long.Message().Body) != `{"long":true}` {
		long, short = short, long
	}
	longDelay := 6 * s.f.RetryDelay
	start := time.Now()
	if err := long.Retry(s.ctx(), longDelay, errors.New("later")); err != nil {
		t.Fatalf("Retry(long) = %v", err)
	}
	if err := short.Retry(s.ctx(), s.f.RetryDelay, errors.New("soon")); err != nil {
		t.Fatalf("Retry(short) = %v", err)
	}
	d := s.next(ch, "first retried message")
	elapsed := time.Since(start)
	if string(d.Message().Body) != `{"short":true}` {
		t.Fatalf("first retry back = %s after %v, want the one retried with %v before the one retried with %v", d.Message().Body, elapsed, s.f.RetryDelay, longDelay)
	}
	if elapsed >= longDelay {
		t.Errorf("short retry (%v) came back after %v: held up by the long one (%v)", s.f.RetryDelay, elapsed, longDelay)
	}
	s.ack(d)
	d = s.next(ch, "long retry")
	if string(d.Message().Body) != `{"long":true}` || d.Message().Attempt != 2 {
		t.Errorf("got %s attempt %d, want the long retry at attempt 2", d.Message().Body, d.Message().Attempt)
	}
	s.ack(d)
}

func testRelease(t *testing.T, s *suite) {
	q := QueueName(t)
	s.publish(q, `{"rel":1}`)
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	d := s.next(ch, "first delivery")
	if err := d.Retry(s.ctx(), 0, errors.New("fail once")); err != nil {
		t.Fatalf("Retry() = %v", err)
	}
	d = s.next(ch, "retried delivery")
	if got := d.Message().Attempt; got != 2 {
		t.Fatalf("Attempt after a retry = %d, want 2", got)
	}
	if err := d.Release(s.ctx(), 0); err != nil {
		t.Fatalf("Release(0) = %v", err)
	}
	d = s.next(ch, "released delivery")
	if m := d.Message(); m.Attempt != 2 || m.Redelivered {
		t.Errorf("after Release(0): Attempt %d Redelivered %v, want 2 and false", m.Attempt, m.Redelivered)
	}
	start := time.Now()
	if err := d.Release(s.ctx(), s.f.RetryDelay); err != nil {
		t.Fatalf("Release(%v) = %v", s.f.RetryDelay, err)
	}
	d = s.next(ch, "delivery released with a delay")
	if elapsed, min := time.Since(start), s.f.RetryDelay-s.f.RetryDelayPrecision; elapsed < min {
		t.Errorf("released message came back after %v, want at least %v", elapsed, min)
	}
	if m := d.Message(); m.Attempt != 2 || m.Redelivered || string(m.Body) != `{"rel":1}` {
		t.Errorf("after Release(%v): %s Attempt %d Redelivered %v, want the same message at 2, not redelivered", s.f.RetryDelay, m.Body, m.Attempt, m.Redelivered)
	}
	s.ack(d)
	s.empty(q)
}

// testGiveBacks stops a consumer that holds messages it received (handed
// out or read ahead) and checks that none of them comes back with a higher
// attempt or marked redelivered.
func testGiveBacks(t *testing.T, s *suite) {
	const n = 12
	q := QueueName(t)
	for i := range n {
		s.publish(q, fmt.Sprintf(`{"g":%d}`, i))
	}
	for round := range 3 {
		ch, cancel := s.consume(q, rococo.ConsumeOptions{Prefetch: 4})
		d := s.next(ch, fmt.Sprintf("round %d: a delivery", round))
		if err := d.Release(s.ctx(), 0); err != nil {
			t.Fatalf("round %d: Release = %v", round, err)
		}
		cancel()
		s.drainClosed(ch, fmt.Sprintf("round %d: after cancel", round))
	}
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 4})
	seen := map[string]bool{}
	for len(seen) < n {
		d := s.next(ch, fmt.Sprintf("after three stopped consumers, %d of %d", len(seen), n))
		m := d.Message()
		if m.Attempt != 1 || m.Redelivered {
			t.Errorf("%s: Attempt %d Redelivered %v after give-backs, want 1 and false", m.Body, m.Attempt, m.Redelivered)
		}
		seen[string(m.Body)] = true
		s.ack(d)
	}
}

// runRouter runs a router over the suite's transport until the returned stop
// is called; stop returns Run's error.
func (s *suite) runRouter(cfg router.Config, p rococo.MessageProcessor) (stop func() error) {
	s.t.Helper()
	r, err := router.New(s.tr, p, cfg)
	if err != nil {
		s.t.Fatalf("router.New() = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	stop = func() error {
		s.t.Helper()
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(s.f.Timeout + 10*time.Second):
			s.t.Fatalf("router did not stop within %v", s.f.Timeout+10*time.Second)
			return nil
		}
	}
	s.t.Cleanup(func() { _ = stop() })
	return stop
}

func testShutdownNotAnAttempt(t *testing.T, s *suite) {
	q := QueueName(t)
	s.publish(q, `{"slow":true}`)
	started := make(chan struct{}, 1)
	stop := s.runRouter(router.Config{Queue: q, ShutdownTimeout: 50 * time.Millisecond, MaxRetries: 1},
		rococo.MessageProcessorFunc(func(ctx context.Context, _ *rococo.Message) error {
			select {
			case started <- struct{}{}:
			default:
			}
			<-ctx.Done()
			return ctx.Err()
		}))
	select {
	case <-started:
	case <-time.After(s.f.Timeout):
		t.Fatalf("processor not called within %v", s.f.Timeout)
	}
	if err := stop(); err != nil {
		t.Fatalf("router Run() = %v, want nil after a drain cut short", err)
	}
	// MaxRetries is 1: had the cancelled attempt counted, the message would
	// be in the dead-letter queue now.
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	d := s.next(ch, "message cancelled by shutdown")
	if m := d.Message(); m.Attempt != 1 || m.Redelivered {
		t.Errorf("after a shutdown cancelled it: Attempt %d Redelivered %v, want 1 and false", m.Attempt, m.Redelivered)
	}
	s.ack(d)
	s.empty(rococo.DeadLetterQueue(q))
}

func testBrokenMoves(t *testing.T, s *suite) {
	if s.f.BreakMoves == nil {
		t.Skip("transport has no way to break its retry and dead-letter moves (Features.BreakMoves)")
	}
	q := QueueName(t)
	// Create the queues the transport uses, then break them.
	ch, cancel := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	cancel()
	s.drainClosed(ch, "set-up consumer")
	repair := s.f.BreakMoves(t, s.tr, q)
	s.publish(q, `{"always":"fails"}`)

	const backoff = 200 * time.Millisecond
	var calls atomic.Int64
	stop := s.runRouter(router.Config{Queue: q, MaxRetries: 2, RetryBackoff: backoff, MaxRetryBackoff: backoff, ShutdownTimeout: time.Second},
		rococo.MessageProcessorFunc(func(context.Context, *rococo.Message) error {
			calls.Add(1)
			return errors.New("always fails")
		}))
	const window = 2 * time.Second
	time.Sleep(window)
	// A message whose move fails comes back after the backoff: about
	// window/backoff calls. A hot loop makes thousands.
	if n, limit := calls.Load(), int64(2*window/backoff)+2; n > limit {
		t.Errorf("processor called %d times in %v with the moves broken and a %v backoff, want at most %d: the message loops hot", n, window, backoff, limit)
	} else if n == 0 {
		t.Errorf("processor never called in %v", window)
	}
	repair()
	// Once repaired, the message is retried and dead-lettered after its
	// MaxRetries attempts: it was never lost.
	dch, _ := s.consume(rococo.DeadLetterQueue(q), rococo.ConsumeOptions{Prefetch: 1})
	dl := s.next(dch, "dead letter after the moves were repaired")
	if string(dl.Message().Body) != `{"always":"fails"}` {
		t.Errorf("dead letter = %s", dl.Message().Body)
	}
	s.ack(dl)
	if err := stop(); err != nil {
		t.Errorf("router Run() = %v", err)
	}
	s.empty(q)
}

func testCrash(t *testing.T, s *suite) {
	if s.f.Crash == nil {
		t.Skip("transport has no broker that outlives it (Features.Crash)")
	}
	q := QueueName(t)
	s.publish(q, `{"crash":1}`)
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	d := s.next(ch, "delivery held when the consumer dies")
	if got := d.Message().Attempt; got != 1 {
		t.Fatalf("Attempt = %d, want 1", got)
	}
	s.f.Crash(t, s.tr)

	tr2 := s.newTransport(t)
	t.Cleanup(func() { _ = tr2.Close() })
	s2 := &suite{t: t, tr: tr2, f: s.f, newTransport: s.newTransport}
	ch2, _ := s2.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	d2 := s2.next(ch2, "delivery after the consumer died holding it")
	if m := d2.Message(); m.Attempt != 2 || !m.Redelivered || string(m.Body) != `{"crash":1}` {
		t.Errorf("after a crash: %s Attempt %d Redelivered %v, want the message at attempt 2, redelivered", m.Body, m.Attempt, m.Redelivered)
	}
	s2.ack(d2)
}
