package transporttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
)

// Features declares what a transport can and cannot do, so the suite checks
// each one against what it promises.
type Features struct {
	// GuaranteedOrder: with prefetch 1, messages published one after the
	// other are delivered in that order.
	GuaranteedOrder bool
	// RetryDelay is the delay the retry tests ask for. A transport whose
	// delays are coarse (SQS visibility timeouts count whole seconds) sets a
	// multiple of its granularity. The default is 300ms.
	RetryDelay time.Duration
	// RetryDelayPrecision is how much earlier than RetryDelay a retried
	// message may come back. The default is 50ms.
	RetryDelayPrecision time.Duration
	// Timeout bounds every wait for something that must happen. The
	// default is 10s.
	Timeout time.Duration
	// QuietPeriod is how long the suite watches for something that must not
	// happen (a delivery beyond the prefetch bound, a premature close). The
	// default is 300ms.
	QuietPeriod time.Duration
	// BreakMoves makes the retry and dead-letter copies of queue's messages
	// fail on tr the way a broker can (queues deleted, publishing refused),
	// and returns a function that repairs it. Nil skips the cases that need
	// it.
	BreakMoves func(t *testing.T, tr rococo.Transport, queue string) (repair func())
	// Crash, when set, makes the transport lose its consumer the way a
	// killed process does (for example: close its connection without
	// settling anything), so that the next transport newTransport returns
	// receives the unsettled deliveries again; the suite then checks that
	// they come back Redelivered with Attempt one higher. Nil skips that
	// case (an in-memory transport has no broker to outlive it).
	Crash func(t *testing.T, tr rococo.Transport)
}

func (f *Features) setDefaults() {
	if f.RetryDelay <= 0 {
		f.RetryDelay = 300 * time.Millisecond
	}
	if f.RetryDelayPrecision <= 0 {
		f.RetryDelayPrecision = 50 * time.Millisecond
	}
	if f.Timeout <= 0 {
		f.Timeout = 10 * time.Second
	}
	if f.QuietPeriod <= 0 {
		f.QuietPeriod = 300 * time.Millisecond
	}
}

// Run runs the contract suite against the transports newTransport returns.
// newTransport is called once per subtest; the suite closes every transport
// it gets when its subtest ends.
func Run(t *testing.T, newTransport func(t *testing.T) rococo.Transport, f Features) {
	f.setDefaults()
	tests := []struct {
		name string
		fn   func(*testing.T, *suite)
	}{
		{"PublishConsumeRoundTrip", testRoundTrip},
		{"AckRemovesMessage", testAckRemoves},
		{"ConcurrentPublishersAllDelivered", testConcurrentPublish},
		{"RetryComesBackAfterDelayWithNextAttempt", testRetry},
		{"RetryDoesNotBlockOtherDeliveries", testRetryNotBlocking},
		{"DeadLetterLandsInDLQWithHeaders", testDeadLetter},
		{"PrefetchBoundsUnsettledDeliveries", testPrefetch},
		{"OrderWithPrefetchOne", testOrder},
		{"ContextCancelClosesChannel", testCancel},
		{"ExitWhenFinishedWaitsForSettlement", testExitWhenFinished},
		{"ExitWhenFinishedOnEmptyQueue", testExitWhenFinishedEmpty},
		{"DoubleSettleFailsOrIsHarmless", testDoubleSettle},
		{"CloseIsIdempotentAndClosesChannel", testClose},
		{"ShortRetryNotBlockedByLongOne", testShortRetryNotBlocked},
		{"ReleaseKeepsAttemptAndComesBackAfterDelay", testRelease},
		{"GiveBacksDoNotInflateAttempts", testGiveBacks},
		{"ShutdownIsNotAFailedAttempt", testShutdownNotAnAttempt},
		{"BrokenMovesNeitherLoseNorSpin", testBrokenMoves},
		{"CrashRedeliversWithNextAttempt", testCrash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t)
			t.Cleanup(func() {
				if err := tr.Close(); err != nil {
					t.Errorf("Close() = %v", err)
				}
			})
			tc.fn(t, &suite{t: t, tr: tr, f: f, newTransport: newTransport})
		})
	}
}

// QueueName returns a queue name unique to this test run: "tt-", a short
// form of the test's name and 8 random hex digits. It uses only letters,
// digits and hyphens and stays under 64 characters, so it is valid on
// RabbitMQ and SQS (also with the ".dlq" suffix where allowed).
func QueueName(t testing.TB) string {
	name := t.Name()
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	short := b.String()
	if len(short) > 40 {
		short = short[:40]
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("random queue suffix: %v", err)
	}
	return "tt-" + short + "-" + hex.EncodeToString(rnd[:])
}

type suite struct {
	t            *testing.T
	tr           rococo.Transport
	f            Features
	newTransport func(t *testing.T) rococo.Transport
}

// consume starts consuming a fresh view of queue; the consumer stops when
// the test ends.
func (s *suite) consume(queue string, opts rococo.ConsumeOptions) (<-chan rococo.Delivery, context.CancelFunc) {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s.t.Cleanup(cancel)
	ch, err := s.tr.Consume(ctx, queue, opts)
	if err != nil {
		cancel()
		s.t.Fatalf("Consume(%q) = %v", queue, err)
	}
	return ch, cancel
}

func (s *suite) publish(queue string, bodies ...string) {
	s.t.Helper()
	msgs := make([]*rococo.Message, len(bodies))
	for i, b := range bodies {
		msgs[i] = &rococo.Message{Body: []byte(b)}
	}
	s.publishMsgs(queue, msgs...)
}

func (s *suite) publishMsgs(queue string, msgs ...*rococo.Message) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.f.Timeout)
	defer cancel()
	if err := s.tr.Publish(ctx, queue, msgs...); err != nil {
		s.t.Fatalf("Publish(%q) = %v", queue, err)
	}
}

// next receives one delivery or fails the test after Timeout.
func (s *suite) next(ch <-chan rococo.Delivery, what string) rococo.Delivery {
	s.t.Helper()
	select {
	case d, ok := <-ch:
		if !ok {
			s.t.Fatalf("%s: delivery channel closed", what)
		}
		return d
	case <-time.After(s.f.Timeout):
		s.t.Fatalf("%s: no delivery within %v", what, s.f.Timeout)
	}
	return nil
}

// quiet fails the test when ch yields a delivery or closes within
// QuietPeriod.
func (s *suite) quiet(ch <-chan rococo.Delivery, what string) {
	s.t.Helper()
	select {
	case d, ok := <-ch:
		if !ok {
			s.t.Fatalf("%s: delivery channel closed early", what)
		}
		s.t.Fatalf("%s: unexpected delivery %q", what, d.Message().Body)
	case <-time.After(s.f.QuietPeriod):
	}
}

// closed waits until ch closes, failing on any delivery or after Timeout.
func (s *suite) closed(ch <-chan rococo.Delivery, what string) {
	s.t.Helper()
	select {
	case d, ok := <-ch:
		if ok {
			s.t.Fatalf("%s: unexpected delivery %q, want the channel closed", what, d.Message().Body)
		}
	case <-time.After(s.f.Timeout):
		s.t.Fatalf("%s: channel not closed within %v", what, s.f.Timeout)
	}
}

// drainClosed waits until ch closes, discarding deliveries (left unsettled).
func (s *suite) drainClosed(ch <-chan rococo.Delivery, what string) {
	s.t.Helper()
	deadline := time.After(s.f.Timeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			s.t.Fatalf("%s: channel not closed within %v", what, s.f.Timeout)
		}
	}
}

func (s *suite) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), s.f.Timeout)
	s.t.Cleanup(cancel)
	return ctx
}

func (s *suite) ack(d rococo.Delivery) {
	s.t.Helper()
	if err := d.Ack(s.ctx()); err != nil {
		s.t.Fatalf("Ack(%q) = %v", d.Message().Body, err)
	}
}

// empty checks that queue holds no message: an ExitWhenFinished consumer
// closes without a delivery.
func (s *suite) empty(queue string) {
	s.t.Helper()
	ch, _ := s.consume(queue, rococo.ConsumeOptions{Prefetch: 1, ExitWhenFinished: true})
	s.closed(ch, fmt.Sprintf("queue %q should be empty", queue))
}

func testRoundTrip(t *testing.T, s *suite) {
	q := QueueName(t)
	s.publishMsgs(q,
		&rococo.Message{Body: []byte(`{"n":1}`), Headers: map[string]string{"trace": "abc"}},
		&rococo.Message{Body: []byte(`{"n":2,"s":"héllo"}`)},
	)
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 2})
	got := map[string]*rococo.Message{}
	for range 2 {
		d := s.next(ch, "round trip")
		m := d.Message()
		if d.Message() != m {
			t.Error("Delivery.Message() returned different values")
		}
		got[string(m.Body)] = m
		s.ack(d)
	}
	m1, m2 := got[`{"n":1}`], got[`{"n":2,"s":"héllo"}`]
	if m1 == nil || m2 == nil {
		t.Fatalf("bodies = %q, want both published bodies", keys(got))
	}
	if m1.Header("trace") != "abc" {
		t.Errorf("Header(trace) = %q, want abc", m1.Header("trace"))
	}
	for _, m := range []*rococo.Message{m1, m2} {
		if m.Attempt != 1 {
			t.Errorf("Attempt = %d, want 1", m.Attempt)
		}
		if m.Queue != q {
			t.Errorf("Queue = %q, want %q", m.Queue, q)
		}
	}
}

func testAckRemoves(t *testing.T, s *suite) {
	q := QueueName(t)
	s.publish(q, `{"a":1}`)
	ch, cancel := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	s.ack(s.next(ch, "first delivery"))
	cancel()
	s.drainClosed(ch, "after cancel")
	s.empty(q)
}

func testConcurrentPublish(t *testing.T, s *suite) {
	const publishers, each = 4, 25
	q := QueueName(t)
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				ctx, cancel := context.WithTimeout(context.Background(), s.f.Timeout)
				err := s.tr.Publish(ctx, q, &rococo.Message{Body: fmt.Appendf(nil, `{"p":%d,"i":%d}`, p, i)})
				cancel()
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Publish = %v", err)
	}
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 8})
	seen := map[string]bool{}
	for len(seen) < publishers*each {
		d := s.next(ch, fmt.Sprintf("after %d of %d", len(seen), publishers*each))
		body := string(d.Message().Body)
		if seen[body] {
			t.Errorf("duplicate delivery %s", body)
		}
		seen[body] = true
		s.ack(d)
	}
}

func testRetry(t *testing.T, s *suite) {
	q := QueueName(t)
	s.publishMsgs(q, &rococo.Message{Body: []byte(`{"r":1}`), Headers: map[string]string{"k": "v"}})
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	d := s.next(ch, "first attempt")
	if got := d.Message().Attempt; got != 1 {
		t.Fatalf("first Attempt = %d, want 1", got)
	}
	start := time.Now()
	if err := d.Retry(s.ctx(), s.f.RetryDelay, errors.New("try again")); err != nil {
		t.Fatalf("Retry() = %v", err)
	}
	d2 := s.next(ch, "retried delivery")
	elapsed := time.Since(start)
	if min := s.f.RetryDelay - s.f.RetryDelayPrecision; elapsed < min {
		t.Errorf("retry came back after %v, want at least %v (delay %v)", elapsed, min, s.f.RetryDelay)
	}
	m := d2.Message()
	if m.Attempt != 2 {
		t.Errorf("retried Attempt = %d, want 2", m.Attempt)
	}
	if string(m.Body) != `{"r":1}` {
		t.Errorf("retried Body = %q", m.Body)
	}
	if m.Header("k") != "v" {
		t.Errorf("retried Header(k) = %q, want v", m.Header("k"))
	}
	// A second retry counts on.
	if err := d2.Retry(s.ctx(), 0, errors.New("again")); err != nil {
		t.Fatalf("second Retry() = %v", err)
	}
	d3 := s.next(ch, "second retry")
	if got := d3.Message().Attempt; got != 3 {
		t.Errorf("Attempt after two retries = %d, want 3", got)
	}
	s.ack(d3)
}

func testRetryNotBlocking(t *testing.T, s *suite) {
	q := QueueName(t)
	s.publish(q, `{"slow":true}`)
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	d := s.next(ch, "first message")
	delay := 3 * s.f.RetryDelay
	start := time.Now()
	if err := d.Retry(s.ctx(), delay, errors.New("later")); err != nil {
		t.Fatalf("Retry() = %v", err)
	}
	s.publish(q, `{"fast":true}`)
	d2 := s.next(ch, "message published after the retry")
	if string(d2.Message().Body) != `{"fast":true}` {
		t.Fatalf("got %q first, want the new message before the delayed retry", d2.Message().Body)
	}
	if elapsed := time.Since(start); elapsed >= delay {
		t.Errorf("new message delivered after %v, not before the retry delay %v ran out", elapsed, delay)
	}
	s.ack(d2)
	d3 := s.next(ch, "delayed retry")
	if string(d3.Message().Body) != `{"slow":true}` || d3.Message().Attempt != 2 {
		t.Errorf("got %q attempt %d, want the retried message at attempt 2", d3.Message().Body, d3.Message().Attempt)
	}
	s.ack(d3)
}

func testDeadLetter(t *testing.T, s *suite) {
	q := QueueName(t)
	s.publish(q, `{"poison":true}`)
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	d := s.next(ch, "first attempt")
	if err := d.Retry(s.ctx(), 0, errors.New("first failure")); err != nil {
		t.Fatalf("Retry() = %v", err)
	}
	d = s.next(ch, "second attempt")
	if err := d.DeadLetter(s.ctx(), errors.New("boom: broken")); err != nil {
		t.Fatalf("DeadLetter() = %v", err)
	}
	dch, _ := s.consume(rococo.DeadLetterQueue(q), rococo.ConsumeOptions{Prefetch: 1})
	dl := s.next(dch, "dead letter")
	m := dl.Message()
	if string(m.Body) != `{"poison":true}` {
		t.Errorf("dead letter Body = %q", m.Body)
	}
	checks := []struct{ key, want string }{
		{rococo.HeaderAttempt, "2"},
		{rococo.HeaderOriginalQueue, q},
	}
	for _, c := range checks {
		if got := m.Header(c.key); got != c.want {
			t.Errorf("dead letter Header(%q) = %q, want %q", c.key, got, c.want)
		}
	}
	if got := m.Header(rococo.HeaderError); !strings.Contains(got, "boom: broken") {
		t.Errorf("dead letter Header(%q) = %q, want it to contain %q", rococo.HeaderError, got, "boom: broken")
	}
	s.ack(dl)
	s.empty(q)
}

func testPrefetch(t *testing.T, s *suite) {
	const prefetch = 2
	q := QueueName(t)
	s.publish(q, `{"i":1}`, `{"i":2}`, `{"i":3}`, `{"i":4}`)
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: prefetch})
	held := []rococo.Delivery{s.next(ch, "delivery 1"), s.next(ch, "delivery 2")}
	s.quiet(ch, fmt.Sprintf("prefetch %d with %d unsettled", prefetch, len(held)))
	s.ack(held[0])
	held = append(held[1:], s.next(ch, "delivery after one ack"))
	s.quiet(ch, "prefetch bound after one ack")
	for _, d := range held {
		s.ack(d)
	}
	s.ack(s.next(ch, "last delivery"))
}

func testOrder(t *testing.T, s *suite) {
	if !s.f.GuaranteedOrder {
		t.Skip("transport does not guarantee order (Features.GuaranteedOrder)")
	}
	q := QueueName(t)
	const n = 10
	for i := range n {
		s.publish(q, fmt.Sprintf(`{"i":%d}`, i))
	}
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	for i := range n {
		d := s.next(ch, fmt.Sprintf("message %d", i))
		if want := fmt.Sprintf(`{"i":%d}`, i); string(d.Message().Body) != want {
			t.Errorf("message %d = %s, want %s", i, d.Message().Body, want)
		}
		s.ack(d)
	}
}

func testCancel(t *testing.T, s *suite) {
	q := QueueName(t)
	s.publish(q, `{"c":1}`, `{"c":2}`)
	ch, cancel := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	d := s.next(ch, "first delivery")
	cancel()
	s.drainClosed(ch, "after ctx cancel")
	// A delivery handed out before the cancel can still be settled.
	s.ack(d)
	ch2, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	d2 := s.next(ch2, "message left after cancel")
	if string(d2.Message().Body) != `{"c":2}` {
		t.Errorf("remaining message = %q, want {\"c\":2}", d2.Message().Body)
	}
	s.ack(d2)
}

func testExitWhenFinished(t *testing.T, s *suite) {
	q := QueueName(t)
	s.publish(q, `{"e":1}`, `{"e":2}`)
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 1, ExitWhenFinished: true})
	d := s.next(ch, "first delivery")
	s.ack(d)
	d = s.next(ch, "second delivery")
	s.quiet(ch, "ExitWhenFinished with a delivery unsettled")
	s.ack(d)
	s.closed(ch, "ExitWhenFinished after the last ack")
}

func testExitWhenFinishedEmpty(t *testing.T, s *suite) {
	s.empty(QueueName(t))
}

func testDoubleSettle(t *testing.T, s *suite) {
	q := QueueName(t)
	s.publish(q, `{"d":1}`)
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	d := s.next(ch, "delivery")
	s.ack(d)
	// The contract says settle once; a second settle may fail but must not
	// bring the message back or duplicate it.
	_ = d.Retry(s.ctx(), 0, errors.New("late retry"))
	_ = d.DeadLetter(s.ctx(), errors.New("late dead letter"))
	s.empty(q)
	s.empty(rococo.DeadLetterQueue(q))
}

func testClose(t *testing.T, s *suite) {
	q := QueueName(t)
	ch, _ := s.consume(q, rococo.ConsumeOptions{Prefetch: 1})
	if err := s.tr.Close(); err != nil {
		t.Fatalf("first Close() = %v", err)
	}
	s.closed(ch, "after Close")
	if err := s.tr.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
}

func keys(m map[string]*rococo.Message) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
