package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/metrics"
	"github.com/rococo-go/rococo/rococo/report"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

const waitBound = 5 * time.Second

// logBuffer collects JSON log lines from concurrent goroutines.
type logBuffer struct{ rococotest.Buffer }

// lines returns the logged records whose msg contains substr.
func (b *logBuffer) lines(substr string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(b.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && strings.Contains(fmt.Sprint(rec["msg"]), substr) {
			out = append(out, rec)
		}
	}
	return out
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

type recReporter struct {
	mu   sync.Mutex
	errs []error
}

func (r *recReporter) Report(_ context.Context, err error, _ ...slog.Attr) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func (r *recReporter) all() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func publish(t *testing.T, tr rococo.Publisher, queue string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if err := tr.Publish(context.Background(), queue, &rococo.Message{Body: []byte(b)}); err != nil {
			t.Fatal(err)
		}
	}
}

// runAsync starts r.Run(ctx) and returns a function that waits for its
// result, failing the test after waitBound.
func runAsync(t *testing.T, ctx context.Context, r *Router) func() error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- r.Run(ctx) }()
	return func() error {
		t.Helper()
		select {
		case err := <-res:
			return err
		case <-time.After(waitBound):
			t.Fatal("Run did not return in time")
			return nil
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func newRouter(t *testing.T, tr rococo.Transport, p rococo.MessageProcessorFunc, cfg Config) *Router {
	t.Helper()
	if cfg.Queue == "" {
		cfg.Queue = "q"
	}
	r, err := New(tr, p, cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return r
}

func TestRouter_decisions(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		body    string
		proc    func(context.Context, *rococo.Message) error
		want    rococotest.Stats // Ready/Delayed/Unsettled always 0
		calls   int
		dlqErr  string // substring of the dead letter's HeaderError
		dlqAtt  string // its HeaderAttempt
		retries int
	}{
		{"success acks", `{"a":1}`, func(context.Context, *rococo.Message) error { return nil },
			rococotest.Stats{Acked: 1}, 1, "", "", 0},
		{"invalid JSON dead-letters without calling the processor", `{"a":`, func(context.Context, *rococo.Message) error { return nil },
			rococotest.Stats{DeadLettered: 1}, 0, "not valid JSON", "1", 0},
		{"Python's NaN and Infinity are JSON", `{"a": NaN, "b": [Infinity, -Infinity]}`, func(_ context.Context, m *rococo.Message) error {
			var v struct{ A float64 }
			return m.Decode(&v)
		}, rococotest.Stats{Acked: 1}, 1, "", "", 0},
		{"empty body dead-letters", ``, func(context.Context, *rococo.Message) error { return nil },
			rococotest.Stats{DeadLettered: 1}, 0, "not valid JSON", "1", 0},
		{"permanent error dead-letters at once", `{}`, func(context.Context, *rococo.Message) error { return rococo.Permanent(boom) },
			rococotest.Stats{DeadLettered: 1}, 1, "permanent: boom", "1", 0},
		{"decode error is permanent", `{"a":"x"}`, func(_ context.Context, m *rococo.Message) error {
			var v struct{ A int }
			return m.Decode(&v)
		}, rococotest.Stats{DeadLettered: 1}, 1, "decode message", "1", 0},
		{"error retries until MaxRetries then dead-letters", `{}`, func(context.Context, *rococo.Message) error { return boom },
			rococotest.Stats{Retried: 2, DeadLettered: 1}, 3, "boom", "3", 2},
		{"panic is retried like an error", `{}`, func(context.Context, *rococo.Message) error { panic("kaboom") },
			rococotest.Stats{Retried: 2, DeadLettered: 1}, 3, "panic: kaboom", "3", 2},
		{"success after failures acks", `{}`, func(_ context.Context, m *rococo.Message) error {
			if m.Attempt < 3 {
				return boom
			}
			return nil
		}, rococotest.Stats{Retried: 2, Acked: 1}, 3, "", "", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := rococotest.NewTransport()
			defer tr.Close()
			publish(t, tr, "q", tc.body)
			var calls atomic.Int32
			rep := &recReporter{}
			reg := prometheus.NewRegistry()
			r := newRouter(t, tr, func(ctx context.Context, m *rococo.Message) error {
				calls.Add(1)
				return tc.proc(ctx, m)
			}, Config{MaxRetries: 3, RetryBackoff: time.Millisecond, ExitWhenFinished: true, Reporter: rep, Metrics: metrics.New(reg)})
			if err := runAsync(t, t.Context(), r)(); err != nil {
				t.Fatalf("Run() = %v", err)
			}
			if got := tr.Stats("q"); got != tc.want {
				t.Errorf("Stats = %+v, want %+v", got, tc.want)
			}
			if got := int(calls.Load()); got != tc.calls {
				t.Errorf("processor calls = %d, want %d", got, tc.calls)
			}
			dl := tr.DeadLetters("q")
			if tc.dlqErr != "" {
				if len(dl) != 1 {
					t.Fatalf("dead letters = %d, want 1", len(dl))
				}
				if got := dl[0].Header(rococo.HeaderError); !strings.Contains(got, tc.dlqErr) {
					t.Errorf("HeaderError = %q, want it to contain %q", got, tc.dlqErr)
				}
				if got := dl[0].Header(rococo.HeaderAttempt); got != tc.dlqAtt {
					t.Errorf("HeaderAttempt = %q, want %q", got, tc.dlqAtt)
				}
				if string(dl[0].Body) != tc.body {
					t.Errorf("dead letter body = %q, want %q", dl[0].Body, tc.body)
				}
			} else if len(dl) != 0 {
				t.Errorf("dead letters = %d, want 0", len(dl))
			}
			if got := len(tr.Retries("q")); got != tc.retries {
				t.Errorf("retries = %d, want %d", got, tc.retries)
			}
			// Every failed attempt is reported, none of the successes.
			if got, want := len(rep.all()), tc.want.Retried+tc.want.DeadLettered; got != want {
				t.Errorf("reports = %d, want %d", got, want)
			}
			for name, want := range map[string]int{
				"rococo_messages_processed_total":     tc.want.Acked,
				"rococo_messages_retried_total":       tc.want.Retried,
				"rococo_messages_dead_lettered_total": tc.want.DeadLettered,
				"rococo_messages_failed_total":        tc.want.Retried + tc.want.DeadLettered,
			} {
				if got := counter(t, reg, name); got != want {
					t.Errorf("%s = %d, want %d", name, got, want)
				}
			}
		})
	}
}

// counter returns the value of the counter name in reg, summed over its
// series (0 when it has none).
func counter(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return int(sum)
}

func TestRouter_retry_delays_back_off_exponentially(t *testing.T) {
	tr := rococotest.NewTransport()
	defer tr.Close()
	publish(t, tr, "q", `{}`)
	r := newRouter(t, tr, func(context.Context, *rococo.Message) error { return errors.New("x") },
		Config{MaxRetries: 4, RetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 30 * time.Millisecond, ExitWhenFinished: true})
	if err := runAsync(t, t.Context(), r)(); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond}
	got := tr.Retries("q")
	if len(got) != len(want) {
		t.Fatalf("retries = %+v, want %d", got, len(want))
	}
	for i, rr := range got {
		lo, hi := want[i]-want[i]/10, min(want[i]+want[i]/10, 30*time.Millisecond)
		if rr.Delay < lo || rr.Delay > hi || rr.Attempt != i+1 || rr.Err != "x" {
			t.Errorf("retry %d = %+v, want attempt %d, delay in [%v, %v]", i, rr, i+1, lo, hi)
		}
	}
}

func TestRouter_retry_does_not_block_other_messages(t *testing.T) {
	tr := rococotest.NewTransport()
	defer tr.Close()
	publish(t, tr, "q", `{"id":"slow"}`, `{"id":"fast"}`)
	var mu sync.Mutex
	var order []string
	r := newRouter(t, tr, func(_ context.Context, m *rococo.Message) error {
		mu.Lock()
		order = append(order, fmt.Sprintf("%s#%d", m.Body, m.Attempt))
		mu.Unlock()
		if strings.Contains(string(m.Body), "slow") && m.Attempt == 1 {
			return errors.New("later")
		}
		return nil
	}, Config{Concurrency: 1, RetryBackoff: 200 * time.Millisecond, ExitWhenFinished: true})
	if err := runAsync(t, t.Context(), r)(); err != nil {
		t.Fatal(err)
	}
	want := `[{"id":"slow"}#1 {"id":"fast"}#1 {"id":"slow"}#2]`
	if got := fmt.Sprint(order); got != want {
		t.Errorf("processing order = %s, want %s", got, want)
	}
}

func TestRouter_bounded_concurrency(t *testing.T) {
	const conc, n = 4, 40
	tr := rococotest.NewTransport()
	defer tr.Close()
	for i := range n {
		publish(t, tr, "q", fmt.Sprintf(`{"i":%d}`, i))
	}
	var cur, peak atomic.Int32
	r := newRouter(t, tr, func(context.Context, *rococo.Message) error {
		c := cur.Add(1)
		for {
			p := peak.Load()
			if c <= p || peak.CompareAndSwap(p, c) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		cur.Add(-1)
		return nil
	}, Config{Concurrency: conc, ExitWhenFinished: true})
	if err := runAsync(t, t.Context(), r)(); err != nil {
		t.Fatal(err)
	}
	if got := tr.Acked("q"); got != n {
		t.Errorf("acked = %d, want %d", got, n)
	}
	if p := peak.Load(); p > conc || p < 2 {
		t.Errorf("peak concurrency = %d, want between 2 and %d", p, conc)
	}
}

func TestRouter_graceful_shutdown_drains_in_flight(t *testing.T) {
	tr := rococotest.NewTransport()
	defer tr.Close()
	publish(t, tr, "q", `{"n":1}`, `{"n":2}`)
	started := make(chan struct{})
	release := make(chan struct{})
	var procCtxErr atomic.Value
	r := newRouter(t, tr, func(ctx context.Context, m *rococo.Message) error {
		if m.Attempt == 1 && strings.Contains(string(m.Body), "1") {
			close(started)
			<-release
			if err := ctx.Err(); err != nil {
				procCtxErr.Store(err)
			}
			return nil
		}
		<-ctx.Done() // the second message is not taken during the drain
		return ctx.Err()
	}, Config{Concurrency: 1, ShutdownTimeout: waitBound})
	ctx, cancel := context.WithCancel(context.Background())
	wait := runAsync(t, ctx, r)
	<-started
	cancel()
	waitFor(t, "Ready to fail after cancel", func() bool { return r.Ready() != nil })
	time.Sleep(20 * time.Millisecond) // the drain must not cut the message short
	close(release)
	if err := wait(); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	if v := procCtxErr.Load(); v != nil {
		t.Errorf("processor ctx cancelled during the drain: %v", v)
	}
	s := tr.Stats("q")
	if s.Acked != 1 || s.Ready != 1 || s.Unsettled != 0 {
		t.Errorf("Stats = %+v, want the in-flight message acked and the other left in the queue", s)
	}
}

func TestRouter_shutdown_timeout_cancels_processor_ctx(t *testing.T) {
	tr := rococotest.NewTransport()
	defer tr.Close()
	publish(t, tr, "q", `{}`)
	started := make(chan struct{})
	log, logs := newLogger()
	r := newRouter(t, tr, func(ctx context.Context, _ *rococo.Message) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}, Config{ShutdownTimeout: 50 * time.Millisecond, Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	wait := runAsync(t, ctx, r)
	<-started
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	// The cancelled message is neither acked nor counted as a failed
	// attempt: it is released, unchanged.
	if s := tr.Stats("q"); s.Acked != 0 || s.Retried != 0 || s.Released != 1 {
		t.Errorf("Stats = %+v, want 0 acked, 0 retried, 1 released", s)
	}
	if m := tr.Messages("q"); len(m) != 1 || m[0].Attempt != 1 {
		t.Errorf("queue after shutdown = %+v, want the message back at attempt 1", m)
	}
	if len(logs.lines("shutdown timeout")) != 1 {
		t.Error("no shutdown timeout log")
	}
}

func TestRouter_processor_ignoring_cancel_gives_shutdown_timeout(t *testing.T) {
	tr := rococotest.NewTransport()
	defer tr.Close()
	publish(t, tr, "q", `{}`)
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	r := newRouter(t, tr, func(context.Context, *rococo.Message) error {
		close(started)
		<-release
		return nil
	}, Config{ShutdownTimeout: 10 * time.Millisecond})
	r.cancelGrace = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	wait := runAsync(t, ctx, r)
	<-started
	cancel()
	if err := wait(); !errors.Is(err, ErrShutdownTimeout) {
		t.Fatalf("Run() = %v, want ErrShutdownTimeout", err)
	}
}

// failingTransport wraps a Transport whose deliveries fail to settle.
type failingTransport struct {
	*rococotest.Transport
	err error
}

func (f failingTransport) Consume(ctx context.Context, q string, o rococo.ConsumeOptions) (<-chan rococo.Delivery, error) {
	in, err := f.Transport.Consume(ctx, q, o)
	if err != nil {
		return nil, err
	}
	out := make(chan rococo.Delivery)
	go func() {
		defer close(out)
		for d := range in {
			out <- failingDelivery{d, f.err}
		}
	}()
	return out, nil
}

type failingDelivery struct {
	rococo.Delivery
	err error
}

func (d failingDelivery) Ack(context.Context) error                         { return d.err }
func (d failingDelivery) Retry(context.Context, time.Duration, error) error { return d.err }
func (d failingDelivery) DeadLetter(context.Context, error) error           { return d.err }

func TestRouter_failed_ack_leaves_message_to_broker(t *testing.T) {
	inner := rococotest.NewTransport()
	defer inner.Close()
	publish(t, inner, "q", `{"ok":true}`)
	tr := failingTransport{inner, errors.New("channel closed")}
	log, logs := newLogger()
	reg := prometheus.NewRegistry()
	r := newRouter(t, tr, func(context.Context, *rococo.Message) error { return nil }, Config{Logger: log, Metrics: metrics.New(reg)})
	ctx, cancel := context.WithCancel(context.Background())
	wait := runAsync(t, ctx, r)
	waitFor(t, "ack failure log", func() bool { return len(logs.lines("ack failed")) == 1 })
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if s := inner.Stats("q"); s.Unsettled != 1 || s.Acked+s.Retried+s.DeadLettered+s.Released != 0 {
		t.Errorf("Stats = %+v, want the message unsettled", s)
	}
	rec := logs.lines("ack failed")[0]
	if rec["error"] != "channel closed" || rec["queue"] != "q" || rec["message_id"] == nil || rec["attempt"] == nil {
		t.Errorf("settle failure log = %v", rec)
	}
	// Counted as a settle failure, not as processed.
	if got := counter(t, reg, "rococo_messages_processed_total"); got != 0 {
		t.Errorf("processed = %v, want 0: the ack failed", got)
	}
	if got := counter(t, reg, "rococo_settle_failures_total"); got != 1 {
		t.Errorf("settle failures = %v, want 1", got)
	}
}

// TestRouter_failed_move_is_released_with_backoff: when a Retry or
// DeadLetter copy cannot be moved, the message is released to come back
// after the backoff of its attempt, unchanged; nothing is counted as
// retried or dead-lettered, and the processor is not called in a hot loop.
func TestRouter_failed_move_is_released_with_backoff(t *testing.T) {
	for _, body := range []string{`{"fail":true}`, `{"permanent":true}`, `not json`} {
		t.Run(body, func(t *testing.T) {
			tr := rococotest.NewTransport()
			defer tr.Close()
			tr.FailMoves("q", errors.New("no route to q.retry"))
			publish(t, tr, "q", body)
			var calls atomic.Int64
			reg := prometheus.NewRegistry()
			r := newRouter(t, tr, func(context.Context, *rococo.Message) error {
				calls.Add(1)
				if strings.Contains(body, "permanent") {
					return rococo.Permanent(errors.New("bad"))
				}
				return errors.New("x")
			}, Config{RetryBackoff: 100 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond, Metrics: metrics.New(reg)})
			ctx, cancel := context.WithCancel(context.Background())
			wait := runAsync(t, ctx, r)
			time.Sleep(time.Second)
			cancel()
			if err := wait(); err != nil {
				t.Fatalf("Run() = %v", err)
			}
			s := tr.Stats("q")
			if s.Retried+s.DeadLettered+s.Acked != 0 || s.Released == 0 || s.FailedMoves != s.Released {
				t.Errorf("Stats = %+v, want every failed move released and nothing else", s)
			}
			if s.Released > 12 || calls.Load() > 12 {
				t.Errorf("%d releases, %d processor calls in 1s with a 100ms backoff: looping hot", s.Released, calls.Load())
			}
			if m := tr.Messages("q"); s.Delayed+len(m) != 1 || (len(m) == 1 && m[0].Attempt != 1) {
				t.Errorf("queue = %+v (%d delayed), want the one message back at attempt 1", m, s.Delayed)
			}
			for name, want := range map[string]int{
				"rococo_messages_retried_total":       0,
				"rococo_messages_dead_lettered_total": 0,
				"rococo_messages_released_total":      s.Released,
				"rococo_settle_failures_total":        s.FailedMoves,
			} {
				if got := counter(t, reg, name); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
		})
	}
}

func TestRouter_logs_panic_with_stack_and_consistent_keys(t *testing.T) {
	tr := rococotest.NewTransport()
	defer tr.Close()
	publish(t, tr, "q", `{}`)
	log, logs := newLogger()
	rep := &recReporter{}
	r := newRouter(t, tr, func(context.Context, *rococo.Message) error { panic(errors.New("nil deref")) },
		Config{MaxRetries: 1, Logger: log, Reporter: rep, ExitWhenFinished: true})
	if err := runAsync(t, t.Context(), r)(); err != nil {
		t.Fatal(err)
	}
	panics := logs.lines("processor panicked")
	if len(panics) != 1 {
		t.Fatalf("panic logs = %d, want 1", len(panics))
	}
	if st, _ := panics[0]["stack"].(string); !strings.Contains(st, "router.TestRouter_logs_panic_with_stack_and_consistent_keys") {
		t.Errorf("stack does not show the panicking function:\n%s", st)
	}
	for _, rec := range append(panics, logs.lines("dead-lettered")...) {
		for _, k := range []string{"queue", "message_id", "attempt", "error"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log %q lacks key %q: %v", rec["msg"], k, rec)
			}
		}
	}
	errs := rep.all()
	var pe *report.PanicError
	if len(errs) != 1 || !errors.As(errs[0], &pe) {
		t.Errorf("reported %v, want one *report.PanicError", errs)
	}
}

func TestRouter_middleware_order_and_panics(t *testing.T) {
	tr := rococotest.NewTransport()
	defer tr.Close()
	publish(t, tr, "q", `{}`)
	var mu sync.Mutex
	var trace []string
	mw := func(name string) rococo.Middleware {
		return func(next rococo.Handler) rococo.Handler {
			return func(ctx context.Context, m *rococo.Message) error {
				mu.Lock()
				trace = append(trace, name)
				mu.Unlock()
				err := next(ctx, m)
				mu.Lock()
				trace = append(trace, name+":"+fmt.Sprint(err))
				mu.Unlock()
				return err
			}
		}
	}
	r := newRouter(t, tr, func(context.Context, *rococo.Message) error { panic("p") },
		Config{MaxRetries: 1, ExitWhenFinished: true, Middleware: []rococo.Middleware{mw("outer"), mw("inner")}})
	if err := runAsync(t, t.Context(), r)(); err != nil {
		t.Fatal(err)
	}
	want := "[outer inner inner:panic: p outer:panic: p]"
	if got := fmt.Sprint(trace); got != want {
		t.Errorf("trace = %s, want %s", got, want)
	}
}

func TestRouter_middleware_panic_is_recovered(t *testing.T) {
	tr := rococotest.NewTransport()
	defer tr.Close()
	publish(t, tr, "q", `{}`)
	bad := func(rococo.Handler) rococo.Handler {
		return func(context.Context, *rococo.Message) error { panic("in middleware") }
	}
	r := newRouter(t, tr, func(context.Context, *rococo.Message) error { return nil },
		Config{MaxRetries: 1, ExitWhenFinished: true, Middleware: []rococo.Middleware{bad}})
	if err := runAsync(t, t.Context(), r)(); err != nil {
		t.Fatal(err)
	}
	if dl := tr.DeadLetters("q"); len(dl) != 1 || dl[0].Header(rococo.HeaderError) != "panic: in middleware" {
		t.Errorf("dead letters = %+v", dl)
	}
}

func TestRouter_ready(t *testing.T) {
	tr := rococotest.NewTransport()
	defer tr.Close()
	r := newRouter(t, tr, func(context.Context, *rococo.Message) error { return nil }, Config{})
	if err := r.Ready(); !errors.Is(err, ErrNotConsuming) {
		t.Errorf("Ready() before Run = %v, want ErrNotConsuming", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait := runAsync(t, ctx, r)
	waitFor(t, "Ready", func() bool { return r.Ready() == nil })
	lost := errors.New("connection lost")
	tr.SetNotReady(lost)
	if err := r.Ready(); !errors.Is(err, lost) {
		t.Errorf("Ready() with transport down = %v, want %v", err, lost)
	}
	tr.SetNotReady(nil)
	if err := r.Run(ctx); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second Run() = %v, want ErrAlreadyRunning", err)
	}
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if err := r.Ready(); !errors.Is(err, ErrNotConsuming) {
		t.Errorf("Ready() after Run = %v, want ErrNotConsuming", err)
	}
}

func TestRouter_channel_closed_by_transport_is_an_error(t *testing.T) {
	tr := rococotest.NewTransport()
	r := newRouter(t, tr, func(context.Context, *rococo.Message) error { return nil }, Config{})
	wait := runAsync(t, t.Context(), r)
	waitFor(t, "Ready", func() bool { return r.Ready() == nil })
	tr.Close()
	if err := wait(); err == nil || !strings.Contains(err.Error(), "delivery channel closed") {
		t.Errorf("Run() = %v, want a delivery channel closed error", err)
	}
}

func TestRouter_consume_error(t *testing.T) {
	tr := rococotest.NewTransport()
	tr.Close()
	r := newRouter(t, tr, func(context.Context, *rococo.Message) error { return nil }, Config{})
	if err := r.Run(t.Context()); !errors.Is(err, rococotest.ErrClosed) {
		t.Errorf("Run() = %v, want ErrClosed", err)
	}
}

func TestNew_validates(t *testing.T) {
	tr := rococotest.NewTransport()
	defer tr.Close()
	p := rococo.MessageProcessorFunc(func(context.Context, *rococo.Message) error { return nil })
	tests := []struct {
		name string
		tr   rococo.Transport
		p    rococo.MessageProcessor
		cfg  Config
	}{
		{"nil transport", nil, p, Config{Queue: "q"}},
		{"nil processor", tr, nil, Config{Queue: "q"}},
		{"empty queue", tr, p, Config{}},
		{"negative backoff", tr, p, Config{Queue: "q", RetryBackoff: -1}},
		{"negative shutdown timeout", tr, p, Config{Queue: "q", ShutdownTimeout: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.tr, tc.p, tc.cfg); err == nil {
				t.Error("New() = nil error")
			}
		})
	}
	r, err := New(tr, p, Config{Queue: "q", RetryBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Queue: "q", Concurrency: 1, MaxRetries: DefaultMaxRetries, RetryBackoff: time.Hour,
		MaxRetryBackoff: DefaultMaxRetryBackoff, ShutdownTimeout: DefaultShutdownTimeout}
	got := r.cfg
	if got.Queue != want.Queue || got.Concurrency != want.Concurrency || got.MaxRetries != want.MaxRetries ||
		got.RetryBackoff != want.RetryBackoff || got.MaxRetryBackoff != time.Hour || got.ShutdownTimeout != want.ShutdownTimeout {
		t.Errorf("defaults = %+v, want %+v with MaxRetryBackoff raised to RetryBackoff", got, want)
	}
}

// waitingTransport is a transport whose broker is unreachable: Consume waits
// for a connection until ctx ends, as the RabbitMQ transport does.
type waitingTransport struct{ *rococotest.Transport }

func (waitingTransport) Consume(ctx context.Context, q string, _ rococo.ConsumeOptions) (<-chan rococo.Delivery, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("consume queue %q: wait for connection: %w", q, ctx.Err())
}

// SIGTERM while the transport still waits for its first connection is a
// clean stop (the host exits 0), not a failure.
func TestRouter_stop_before_first_connection_is_clean(t *testing.T) {
	inner := rococotest.NewTransport()
	defer inner.Close()
	r := newRouter(t, waitingTransport{inner}, func(context.Context, *rococo.Message) error { return nil }, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	wait := runAsync(t, ctx, r)
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := wait(); err != nil {
		t.Errorf("Run() after ctx cancelled while connecting = %v, want nil", err)
	}
}

// namingTransport names the dead-letter queue as SQS does.
type namingTransport struct{ *rococotest.Transport }

func (namingTransport) BrokerQueueName(q string) string { return strings.ReplaceAll(q, ".dlq", "-dlq") }

func TestRouter_logs_the_brokers_dead_letter_queue_name(t *testing.T) {
	tests := []struct {
		name string
		tr   func(*rococotest.Transport) rococo.Transport
		want string
	}{
		{"the runtime's name", func(tr *rococotest.Transport) rococo.Transport { return tr }, "q.dlq"},
		{"a transport that names it otherwise", func(tr *rococotest.Transport) rococo.Transport { return namingTransport{tr} }, "q-dlq"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := rococotest.NewTransport()
			defer tr.Close()
			publish(t, tr, "q", `{"a":`)
			log, logs := newLogger()
			r := newRouter(t, tc.tr(tr), func(context.Context, *rococo.Message) error { return nil }, Config{Logger: log, ExitWhenFinished: true})
			if err := runAsync(t, t.Context(), r)(); err != nil {
				t.Fatal(err)
			}
			dead := logs.lines("message dead-lettered")
			if len(dead) != 1 || dead[0]["dlq"] != tc.want {
				t.Errorf("dead-letter logs = %v, want one with dlq=%s", dead, tc.want)
			}
		})
	}
}
