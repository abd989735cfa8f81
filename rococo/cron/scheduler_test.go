package cron_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/cron"
	"github.com/rococo-go/rococo/rococo/cron/crontest"
	"github.com/rococo-go/rococo/rococo/report"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

type noop struct{}

func (noop) Process(context.Context) error { return nil }

// counts records what the scheduler reports to Metrics and Reporter.
type counts struct {
	mu       sync.Mutex
	runs     int
	failures int
	skipped  int
	reported []error
}

func (c *counts) CronRun(_ time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runs++
	if err != nil {
		c.failures++
	}
}

func (c *counts) CronSkipped() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skipped++
}

func (c *counts) Report(_ context.Context, err error, _ ...slog.Attr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reported = append(c.reported, err)
}

func (c *counts) get() (runs, failures, skipped, reported int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs, c.failures, c.skipped, len(c.reported)
}

// proc is a cron processor that tells the test when each run starts (with
// the fake time) and, when block is set, waits for release (or its ctx) to
// return; each run returns the next value of results (nil after them).
type proc struct {
	clock   cron.Clock
	started chan time.Time
	ended   chan error // the run's ctx error when it returned
	block   bool
	release chan struct{}

	mu      sync.Mutex
	results []func() error
	done    int // runs waited for by waitEnd
}

// waitEnd waits for the end of the next run and for the scheduler to count
// it (after clearing its running flag, so the next tick starts a new run).
func (p *proc) waitEnd(t *testing.T, c *counts) {
	t.Helper()
	recv(t, p.ended, "run end")
	p.done++
	waitRuns(t, c, p.done)
}

func newProc(clock cron.Clock, block bool, results ...func() error) *proc {
	return &proc{clock: clock, started: make(chan time.Time, 100), ended: make(chan error, 100), block: block, release: make(chan struct{}, 100), results: results}
}

func (p *proc) Process(ctx context.Context) error {
	p.started <- p.clock.Now()
	defer func() { p.ended <- ctx.Err() }()
	if p.block {
		select {
		case <-p.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.mu.Lock()
	var r func() error
	if len(p.results) > 0 {
		r, p.results = p.results[0], p.results[1:]
	}
	p.mu.Unlock()
	if r != nil {
		return r()
	}
	return nil
}

const wait = 5 * time.Second

func recv[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out after %v waiting for %s", wait, what)
		panic("unreachable")
	}
}

func noRecv[T any](t *testing.T, c <-chan T, what string) {
	t.Helper()
	select {
	case v := <-c:
		t.Fatalf("unexpected %s: %v", what, v)
	case <-time.After(20 * time.Millisecond):
	}
}

// tick waits until the scheduler waits on a timer, then advances the fake
// clock to that timer's fire time and returns it.
func tick(t *testing.T, clock *crontest.Clock) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := clock.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	next, _ := clock.Next()
	if err := clock.Set(next); err != nil {
		t.Fatal(err)
	}
	return next
}

// waitRuns waits until the scheduler counted n runs: it counts a run after
// clearing its running flag, so a tick after this starts a new run.
func waitRuns(t *testing.T, c *counts, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		runs, _, _, _ := c.get()
		if runs >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("counted %d runs, want %d", runs, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitStopping waits until Run noticed the cancel (Ready reports an error),
// after which it has stopped its schedule timer.
func waitStopping(t *testing.T, s *cron.Scheduler) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for s.Ready() == nil {
		if time.Now().After(deadline) {
			t.Fatal("Ready() still nil after cancel")
		}
		time.Sleep(time.Millisecond)
	}
}

// start runs s until the returned stop is called; stop returns Run's error.
func start(t *testing.T, s *cron.Scheduler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- s.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-res:
			case <-time.After(wait):
				t.Fatal("Run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

var t0 = time.Date(2026, 3, 28, 10, 0, 0, 0, time.UTC)

func TestScheduler_every_runs_on_the_interval(t *testing.T) {
	clock := crontest.NewClock(t0)
	p := newProc(clock, false)
	c := &counts{}
	s, err := cron.New(cron.Spec{Every: time.Minute}, p, cron.Options{Clock: clock, Metrics: c})
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	for i := 1; i <= 3; i++ {
		at := tick(t, clock)
		if want := t0.Add(time.Duration(i) * time.Minute); !at.Equal(want) {
			t.Fatalf("tick %d at %v, want %v", i, at, want)
		}
		if got := recv(t, p.started, "a run"); !got.Equal(at) {
			t.Fatalf("run %d started at %v, want %v", i, got, at)
		}
		p.waitEnd(t, c)
	}
	if runs, failures, skipped, _ := c.get(); runs != 3 || failures != 0 || skipped != 0 {
		t.Errorf("metrics runs=%d failures=%d skipped=%d, want 3 0 0", runs, failures, skipped)
	}
}

func TestScheduler_run_at_startup_runs_once_first(t *testing.T) {
	clock := crontest.NewClock(t0)
	p := newProc(clock, false)
	c := &counts{}
	s, err := cron.New(cron.Spec{Every: time.Hour, RunAtStartup: true}, p, cron.Options{Clock: clock, Metrics: c})
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	if got := recv(t, p.started, "the startup run"); !got.Equal(t0) {
		t.Fatalf("startup run at %v, want %v", got, t0)
	}
	p.waitEnd(t, c)
	if at := tick(t, clock); !at.Equal(t0.Add(time.Hour)) {
		t.Fatalf("first scheduled run at %v, want %v", at, t0.Add(time.Hour))
	}
	recv(t, p.started, "the first scheduled run")
}

func TestScheduler_without_run_at_startup_waits(t *testing.T) {
	clock := crontest.NewClock(t0)
	p := newProc(clock, false)
	c := &counts{}
	s, err := cron.New(cron.Spec{Every: time.Hour}, p, cron.Options{Clock: clock, Metrics: c})
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := clock.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	noRecv(t, p.started, "run before the first interval")
}

func TestScheduler_skips_a_run_that_overlaps(t *testing.T) {
	clock := crontest.NewClock(t0)
	p := newProc(clock, true)
	c := &counts{}
	var logs rococotest.Buffer
	s, err := cron.New(cron.Spec{Every: time.Minute}, p, cron.Options{Clock: clock, Metrics: c, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	tick(t, clock)
	recv(t, p.started, "first run")
	tick(t, clock) // due while the first run still goes: skipped
	tick(t, clock) // skipped too
	noRecv(t, p.started, "overlapping run")
	p.release <- struct{}{}
	recv(t, p.ended, "first run end")
	waitRuns(t, c, 1)
	at := tick(t, clock)
	if got := recv(t, p.started, "run after the overlap"); !got.Equal(at) || !at.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("run after overlap at %v (tick %v), want %v", got, at, t0.Add(4*time.Minute))
	}
	p.release <- struct{}{}
	recv(t, p.ended, "second run end")
	if _, _, skipped, _ := c.get(); skipped != 2 {
		t.Errorf("CronSkipped called %d times, want 2", skipped)
	}
	if n := strings.Count(logs.String(), "cron run skipped"); n != 2 {
		t.Errorf("logged %d skips, want 2; logs:\n%s", n, logs.String())
	}
}

func TestScheduler_error_and_panic_are_reported_and_schedule_goes_on(t *testing.T) {
	clock := crontest.NewClock(t0)
	boom := errors.New("boom")
	p := newProc(clock, false,
		func() error { return boom },
		func() error { panic("kaput") },
		nil,
	)
	c := &counts{}
	var logs rococotest.Buffer
	s, err := cron.New(cron.Spec{Every: time.Second}, p, cron.Options{Clock: clock, Metrics: c, Reporter: c, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	for i := 0; i < 3; i++ {
		tick(t, clock)
		recv(t, p.started, "run")
		p.waitEnd(t, c)
	}
	// A run is reported after its running flag is cleared, so the report
	// of the second run may come after the third run started.
	deadline := time.Now().Add(wait)
	for {
		runs, failures, _, reported := c.get()
		if runs == 3 && failures == 2 && reported == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs=%d failures=%d reported=%d, want 3 2 2", runs, failures, reported)
		}
		time.Sleep(time.Millisecond)
	}
	c.mu.Lock()
	reports := append([]error(nil), c.reported...)
	c.mu.Unlock()
	// Reports of consecutive runs may arrive in either order (see above).
	var sawBoom, sawPanic bool
	for _, err := range reports {
		var pe *report.PanicError
		switch {
		case errors.Is(err, boom):
			sawBoom = true
		case errors.As(err, &pe) && pe.Value == "kaput" && strings.Contains(pe.StackTrace(), ".(*proc).Process"):
			sawPanic = true
		}
	}
	if !sawBoom || !sawPanic {
		t.Errorf("reports = %v, want boom and a *report.PanicError with value kaput and the processor's stack", reports)
	}
	for _, want := range []string{"cron run failed", "cron run panicked", "error=boom", "kaput"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

func TestScheduler_days_at_time_of_day_in_location(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	// 2026-03-28 11:00 in Paris; DST starts on the 29th at 02:00.
	start0 := time.Date(2026, 3, 28, 11, 0, 0, 0, paris)
	clock := crontest.NewClock(start0)
	p := newProc(clock, false)
	c := &counts{}
	spec, err := cron.ParseInterval("1", "days", "09:00:00")
	if err != nil {
		t.Fatal(err)
	}
	s, err := cron.New(spec, p, cron.Options{Clock: clock, Location: paris, Metrics: c})
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	for _, want := range []time.Time{
		time.Date(2026, 3, 29, 9, 0, 0, 0, paris), // 09:00 already passed on the 28th
		time.Date(2026, 3, 30, 9, 0, 0, 0, paris), // 23 h later, across DST
		time.Date(2026, 3, 31, 9, 0, 0, 0, paris),
	} {
		at := tick(t, clock)
		if !at.Equal(want) {
			t.Fatalf("run at %v, want %v", at.In(paris), want)
		}
		recv(t, p.started, "run")
		p.waitEnd(t, c)
	}
}

func TestScheduler_every_n_days_at_utc(t *testing.T) {
	clock := crontest.NewClock(t0) // 10:00 UTC
	p := newProc(clock, false)
	c := &counts{}
	spec, err := cron.ParseInterval("2", "days", "10:30:00")
	if err != nil {
		t.Fatal(err)
	}
	s, err := cron.New(spec, p, cron.Options{Clock: clock, Metrics: c})
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	first := time.Date(2026, 3, 28, 10, 30, 0, 0, time.UTC)
	for i, want := range []time.Time{first, first.AddDate(0, 0, 2), first.AddDate(0, 0, 4)} {
		if at := tick(t, clock); !at.Equal(want) {
			t.Fatalf("run %d at %v, want %v", i, at, want)
		}
		recv(t, p.started, "run")
		p.waitEnd(t, c)
	}
}

func TestScheduler_crontab_expressions_take_priority(t *testing.T) {
	clock := crontest.NewClock(t0) // Saturday 2026-03-28 10:00 UTC
	p := newProc(clock, false)
	c := &counts{}
	exprs, err := cron.ParseExpressions("15,45 10 * * *,0 12 * * sat")
	if err != nil {
		t.Fatal(err)
	}
	s, err := cron.New(cron.Spec{Expressions: exprs, Every: time.Second}, p, cron.Options{Clock: clock, Metrics: c})
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	for _, want := range []time.Time{
		time.Date(2026, 3, 28, 10, 15, 0, 0, time.UTC),
		time.Date(2026, 3, 28, 10, 45, 0, 0, time.UTC),
		time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 29, 10, 15, 0, 0, time.UTC),
	} {
		if at := tick(t, clock); !at.Equal(want) {
			t.Fatalf("run at %v, want %v", at, want)
		}
		recv(t, p.started, "run")
		p.waitEnd(t, c)
	}
}

func TestScheduler_missed_ticks_keep_the_phase(t *testing.T) {
	clock := crontest.NewClock(t0)
	p := newProc(clock, false)
	c := &counts{}
	s, err := cron.New(cron.Spec{Every: time.Minute}, p, cron.Options{Clock: clock, Metrics: c})
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := clock.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5*time.Minute + 30*time.Second) // as if the machine slept
	recv(t, p.started, "the late run")
	p.waitEnd(t, c)
	if at := tick(t, clock); !at.Equal(t0.Add(6 * time.Minute)) {
		t.Fatalf("next run at %v, want %v", at, t0.Add(6*time.Minute))
	}
}

func TestScheduler_shutdown_lets_the_run_finish(t *testing.T) {
	clock := crontest.NewClock(t0)
	p := newProc(clock, true)
	c := &counts{}
	s, err := cron.New(cron.Spec{Every: time.Minute}, p, cron.Options{Clock: clock, ShutdownTimeout: 30 * time.Second, Metrics: c})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, s)
	tick(t, clock)
	recv(t, p.started, "run")
	res := make(chan error, 1)
	go func() { res <- stop() }()
	waitStopping(t, s)
	// Run now waits on the shutdown deadline timer.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := clock.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(29 * time.Second)
	noRecv(t, res, "Run return before the run finished")
	p.release <- struct{}{}
	if ctxErr := recv(t, p.ended, "run end"); ctxErr != nil {
		t.Errorf("run ctx error = %v, want nil (not cancelled before the deadline)", ctxErr)
	}
	if err := recv(t, res, "Run return"); err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	clock.Advance(time.Hour)
	noRecv(t, p.started, "run after shutdown")
}

func TestScheduler_shutdown_timeout_cancels_the_run(t *testing.T) {
	clock := crontest.NewClock(t0)
	p := newProc(clock, true)
	c := &counts{}
	s, err := cron.New(cron.Spec{Every: time.Minute}, p, cron.Options{Clock: clock, ShutdownTimeout: 10 * time.Second, Metrics: c})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, s)
	tick(t, clock)
	recv(t, p.started, "run")
	res := make(chan error, 1)
	go func() { res <- stop() }()
	waitStopping(t, s)
	if at := tick(t, clock); !at.Equal(t0.Add(time.Minute + 10*time.Second)) {
		t.Fatalf("shutdown deadline at %v, want %v", at, t0.Add(time.Minute+10*time.Second))
	}
	if ctxErr := recv(t, p.ended, "run end"); !errors.Is(ctxErr, context.Canceled) {
		t.Errorf("run ctx error = %v, want context.Canceled", ctxErr)
	}
	if err := recv(t, res, "Run return"); err != nil {
		t.Errorf("Run() = %v, want nil (the run returned once cancelled)", err)
	}
	if err := s.Ready(); err == nil {
		t.Error("Ready() = nil after Run returned")
	}
}

type stubborn struct{ started, stop chan struct{} }

func (s stubborn) Process(context.Context) error {
	close(s.started)
	<-s.stop
	return nil
}

func TestScheduler_run_ignoring_cancel_gives_ErrShutdownTimeout(t *testing.T) {
	clock := crontest.NewClock(t0)
	p := stubborn{started: make(chan struct{}), stop: make(chan struct{})}
	defer close(p.stop)
	s, err := cron.New(cron.Spec{Every: time.Minute, RunAtStartup: true}, p, cron.Options{Clock: clock, ShutdownTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, s)
	recv(t, p.started, "run")
	res := make(chan error, 1)
	go func() { res <- stop() }()
	waitStopping(t, s)
	tick(t, clock) // ShutdownTimeout
	tick(t, clock) // grace after cancel
	if err := recv(t, res, "Run return"); !errors.Is(err, cron.ErrShutdownTimeout) {
		t.Errorf("Run() = %v, want ErrShutdownTimeout", err)
	}
}

func TestScheduler_ready(t *testing.T) {
	clock := crontest.NewClock(t0)
	s, err := cron.New(cron.Spec{Every: time.Minute}, noop{}, cron.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(); err == nil {
		t.Error("Ready() before Run = nil")
	}
	stop := start(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := clock.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(); err != nil {
		t.Errorf("Ready() while running = %v", err)
	}
	if err := stop(); err != nil {
		t.Errorf("Run() = %v", err)
	}
	if err := s.Ready(); err == nil {
		t.Error("Ready() after stop = nil")
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("second Run() = nil, want an error")
	}
}

func TestNew_rejects_bad_input(t *testing.T) {
	tests := []struct {
		name string
		spec cron.Spec
		proc func() cron.Options
	}{
		{"zero interval", cron.Spec{}, func() cron.Options { return cron.Options{} }},
		{"bad expression", cron.Spec{Expressions: []string{"bad"}}, func() cron.Options { return cron.Options{} }},
		{"run at with partial days", cron.Spec{Every: 36 * time.Hour, RunAt: &cron.TimeOfDay{}}, func() cron.Options { return cron.Options{} }},
		{"negative shutdown timeout", cron.Spec{Every: time.Second}, func() cron.Options { return cron.Options{ShutdownTimeout: -1} }},
	}
	for _, tc := range tests {
		if _, err := cron.New(tc.spec, noop{}, tc.proc()); err == nil {
			t.Errorf("%s: New() error = nil", tc.name)
		}
	}
	if _, err := cron.New(cron.Spec{Every: time.Second}, nil, cron.Options{}); err == nil {
		t.Error("New(nil processor) error = nil")
	}
}

// TestScheduler_real_time runs a 20 ms schedule on the real clock.
func TestScheduler_real_time(t *testing.T) {
	runs := make(chan struct{}, 100)
	p := rococo.CronProcessorFunc(func(context.Context) error { runs <- struct{}{}; return nil })
	s, err := cron.New(cron.Spec{Every: 20 * time.Millisecond}, p, cron.Options{})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	stop := start(t, s)
	for i := 0; i < 3; i++ {
		recv(t, runs, "a real-time run")
	}
	if err := stop(); err != nil {
		t.Errorf("Run() = %v", err)
	}
	if el := time.Since(began); el < 60*time.Millisecond {
		t.Errorf("3 runs of a 20ms schedule took %v, want at least 60ms", el)
	}
}

func TestScheduler_RunOnce(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name        string
		result      func() error
		wantErr     error
		wantFailure int
	}{
		{"success", nil, nil, 0},
		{"error", func() error { return boom }, boom, 1},
		{"panic", func() error { panic("kaput") }, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := crontest.NewClock(t0)
			p := newProc(clock, false, tc.result)
			c := &counts{}
			s, err := cron.New(cron.Spec{Every: time.Hour}, p, cron.Options{Clock: clock, Metrics: c, Reporter: c})
			if err != nil {
				t.Fatal(err)
			}
			err = s.RunOnce(context.Background())
			var pe *report.PanicError
			switch {
			case tc.name == "panic" && !errors.As(err, &pe):
				t.Errorf("RunOnce() = %v, want a *report.PanicError", err)
			case tc.name != "panic" && !errors.Is(err, tc.wantErr):
				t.Errorf("RunOnce() = %v, want %v", err, tc.wantErr)
			}
			if runs, failures, _, reported := c.get(); runs != 1 || failures != tc.wantFailure || reported != tc.wantFailure {
				t.Errorf("runs=%d failures=%d reported=%d, want 1 %d %d", runs, failures, reported, tc.wantFailure, tc.wantFailure)
			}
			if err := s.RunOnce(context.Background()); err == nil {
				t.Error("second RunOnce() = nil, want an error")
			}
		})
	}
}

func TestScheduler_RunOnce_shutdown_lets_the_run_finish(t *testing.T) {
	clock := crontest.NewClock(t0)
	p := newProc(clock, true)
	s, err := cron.New(cron.Spec{Every: time.Hour}, p, cron.Options{Clock: clock, ShutdownTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.RunOnce(ctx) }()
	recv(t, p.started, "run")
	cancel()
	noRecv(t, errc, "RunOnce return before the run finished")
	p.release <- struct{}{}
	if err := recv(t, errc, "RunOnce return"); err != nil {
		t.Errorf("RunOnce() = %v, want nil", err)
	}
	if ctxErr := recv(t, p.ended, "run end"); ctxErr != nil {
		t.Errorf("run ctx error = %v, want nil (not cancelled before the shutdown deadline)", ctxErr)
	}
}
