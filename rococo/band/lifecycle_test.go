package band_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

// TestWorker_restarted_after_panics_with_growing_delays: a worker that
// panics at once is started again after base, 2·base, 4·base ... capped at
// max (±10 % jitter); the start times prove it. Only lower bounds are
// asserted: a loaded machine can only make the gaps longer.
func TestWorker_restarted_after_panics_with_growing_delays(t *testing.T) {
	const base, maxDelay = 40 * time.Millisecond, 200 * time.Millisecond
	var mu sync.Mutex
	var starts []time.Time
	s := band.New()
	s.Worker("crashy", func(ctx context.Context) error {
		mu.Lock()
		starts = append(starts, time.Now())
		n := len(starts)
		mu.Unlock()
		if n <= 6 {
			panic("crash " + string(rune('0'+n)))
		}
		<-ctx.Done()
		return ctx.Err()
	}, band.Backoff(base, maxDelay), band.FailureDecay(time.Hour))
	h := start(t, s, "", nil)
	waitFor(t, 10*time.Second, "7 starts", func() bool { mu.Lock(); defer mu.Unlock(); return len(starts) == 7 })

	mu.Lock()
	defer mu.Unlock()
	// want: 40, 80, 160, 200 (capped), 200, 200 ms, each at least 90 %.
	want := []time.Duration{base, 2 * base, 4 * base, maxDelay, maxDelay, maxDelay}
	for i, w := range want {
		gap := starts[i+1].Sub(starts[i])
		if gap < w*9/10 {
			t.Errorf("gap before start %d = %v, want at least %v (%v ±10%%)", i+2, gap, w*9/10, w)
		}
		t.Logf("restart %d after %v (delay %v)", i+1, gap.Round(time.Millisecond), w)
	}
	if n := h.counter("rococo_band_worker_restarts_total", "worker", "crashy"); n != 6 {
		t.Errorf("restarts = %v, want 6", n)
	}
	if got := len(h.reports.all()); got != 6 {
		t.Errorf("reports = %d, want 6 (one per panic)", got)
	}
	if !strings.Contains(h.logs.String(), `msg="worker failed: restarting it" function=crashy restart_in=`) || !strings.Contains(h.logs.String(), "panic: crash 1") {
		t.Errorf("logs lack the restarts:\n%s", h.logs.String())
	}
	for _, f := range h.r.Functions() {
		if f.Name == "crashy" && (f.State != "running" || f.Restarts != 6) {
			t.Errorf("status of crashy = %s with %d restarts, want running with 6", f.State, f.Restarts)
		}
	}
}

// TestWorker_failures_decay: failures long ago count for little, so the
// delay falls back to the base one.
func TestWorker_failures_decay(t *testing.T) {
	const base = 20 * time.Millisecond
	var mu sync.Mutex
	var starts []time.Time
	s := band.New()
	s.Worker("flaky", func(ctx context.Context) error {
		mu.Lock()
		starts = append(starts, time.Now())
		n := len(starts)
		mu.Unlock()
		if n == 4 {
			time.Sleep(300 * time.Millisecond) // runs well for 15 decay periods
		}
		if n <= 5 {
			return errors.New("failed")
		}
		<-ctx.Done()
		return nil
	}, band.Backoff(base, time.Hour), band.FailureDecay(20*time.Millisecond))
	start(t, s, "", nil)
	waitFor(t, 10*time.Second, "6 starts", func() bool { mu.Lock(); defer mu.Unlock(); return len(starts) == 6 })
	mu.Lock()
	defer mu.Unlock()
	// The fifth failure comes 300ms after the fourth: its delay is about
	// base again, not 16·base; allow a lot of scheduling slack.
	if gap := starts[5].Sub(starts[4]); gap > 8*base {
		t.Errorf("delay after a failure preceded by a long good run = %v, want about %v", gap, base)
	}
}

func TestWorker_gates_readiness_until_its_first_success(t *testing.T) {
	loaded := make(chan struct{})
	var rounds atomic.Int32
	s := band.New()
	s.Worker("load", func(ctx context.Context) error {
		if rounds.Add(1) == 1 {
			return errors.New("data not there yet") // restarted
		}
		<-loaded
		band.MarkReady(ctx)
		band.MarkReady(ctx) // twice is once
		<-ctx.Done()
		return nil
	}, band.GatesReadiness(), band.Backoff(10*time.Millisecond, 10*time.Millisecond))
	s.Worker("oneshot", func(context.Context) error { return nil }, band.GatesReadiness())
	s.Worker("free", func(ctx context.Context) error { <-ctx.Done(); return nil })
	h := start(t, s, "", nil)

	waitFor(t, 5*time.Second, "the second round", func() bool { return rounds.Load() == 2 })
	if err := h.r.Ready(); err == nil || h.r.State() != band.StateStarting {
		t.Fatalf("before the load: Ready() = %v, State() = %s; want not ready, starting", err, h.r.State())
	}
	if got := h.do("GET", "/readyz", "", ""); got.code != http.StatusServiceUnavailable || !strings.Contains(got.body, "waiting for 1 worker(s)") {
		t.Errorf("/readyz before the load = %d %s", got.code, got.body)
	}
	close(loaded)
	waitFor(t, 5*time.Second, "ready", func() bool { return h.r.Ready() == nil })
	if h.r.State() != band.StateReady {
		t.Errorf("State() = %s, want ready", h.r.State())
	}
	h.stop(5 * time.Second)
	if err := h.r.Ready(); err == nil || h.r.State() != band.StateStopped {
		t.Errorf("after Shutdown: Ready() = %v, State() = %s", err, h.r.State())
	}
	states := map[string]string{}
	for _, f := range h.r.Functions() {
		states[f.Name] = f.State
	}
	if states["load"] != "stopped" || states["oneshot"] != "done" || states["free"] != "stopped" {
		t.Errorf("worker states = %v", states)
	}
}

// TestShutdown_drains_then_stops_workers_then_cleans_up_in_reverse: the
// order of a shutdown, each step seen from the next.
func TestShutdown_drains_then_stops_workers_then_cleans_up_in_reverse(t *testing.T) {
	var mu sync.Mutex
	var events []string
	event := func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }
	release := make(chan struct{})
	s := band.New()
	band.Handle(s, "GET /slow", func(ctx context.Context, _ struct{}) (string, error) {
		event("request started")
		<-release
		event("request done")
		return "ok", nil
	})
	s.Worker("w", func(ctx context.Context) error {
		<-ctx.Done()
		event("worker stopped")
		return ctx.Err()
	})
	s.Cleanup("first", func(context.Context) error { event("cleanup first"); return nil })
	s.Cleanup("one_second", func(ctx context.Context) error {
		select {
		case <-time.After(time.Second): // a cleanup that needs 1 s
		case <-ctx.Done():
			return ctx.Err()
		}
		event("cleanup slow (1s)")
		return nil
	})
	s.Cleanup("last", func(context.Context) error { event("cleanup last"); return nil })
	h := start(t, s, "", nil)

	answered := make(chan response)
	go func() { answered <- do(t, "GET", h.url+"/slow", "", "") }()
	waitFor(t, 5*time.Second, "the request to start", func() bool { mu.Lock(); defer mu.Unlock(); return len(events) == 1 })

	stopped := make(chan error)
	go func() { stopped <- h.stop(10 * time.Second) }()
	waitFor(t, 5*time.Second, "draining", func() bool { return h.r.State() == band.StateDraining })
	// New requests are refused while the old one drains.
	if got := h.do("GET", "/slow", "", ""); got.code != http.StatusServiceUnavailable || !got.close {
		t.Errorf("a request while draining = %d %s (close %v), want 503 with Connection: close", got.code, got.body, got.close)
	}
	if got := h.do("GET", "/readyz", "", ""); got.code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining = %d, want 503", got.code)
	}
	time.Sleep(100 * time.Millisecond)
	event("release")
	close(release)
	if got := <-answered; got.code != 200 {
		t.Errorf("the request in flight = %d %s, want 200", got.code, got.body)
	}
	began := time.Now()
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Shutdown() = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if d := time.Since(began); d < 900*time.Millisecond {
		t.Errorf("Shutdown returned %v after the drain, want the slow cleanup's second", d)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "request started,release,request done,worker stopped,cleanup last,cleanup slow (1s),cleanup first"
	if got := strings.Join(events, ","); got != want {
		t.Errorf("events =\n%s\nwant\n%s", got, want)
	}
}

func TestShutdown_reports_failed_cleanups_and_runs_the_rest(t *testing.T) {
	var mu sync.Mutex
	var ran []string
	run := func(name string) { mu.Lock(); ran = append(ran, name); mu.Unlock() }
	s := band.New()
	s.Cleanup("a", func(context.Context) error { run("a"); return nil })
	s.Cleanup("b", func(context.Context) error { run("b"); panic("b broke") })
	s.Cleanup("c", func(context.Context) error { run("c"); return errors.New("c failed") })
	s.Cleanup("d", func(ctx context.Context) error {
		run("d")
		time.Sleep(1500 * time.Millisecond) // ignores its ctx: past the deadline and the grace
		return nil
	})
	h := start(t, s, "", nil)
	err := h.stop(100 * time.Millisecond)
	for _, want := range []string{"band: cleanup d: did not return by the shutdown deadline", "band: cleanup c: c failed", "band: cleanup b: panic: b broke"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Shutdown() = %v, want it to contain %q", err, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(ran, ""); got != "dcba" {
		t.Errorf("cleanups ran %s, want dcba (reverse order, all of them)", got)
	}
	if n := len(h.reports.all()); n != 3 {
		t.Errorf("reports = %d, want 3", n)
	}
}

func TestShutdown_cancels_requests_at_the_deadline(t *testing.T) {
	s := band.New()
	band.Handle(s, "GET /forever", func(ctx context.Context, _ struct{}) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	})
	h := start(t, s, "", nil)
	answered := make(chan response)
	go func() { answered <- do(t, "GET", h.url+"/forever", "", "") }()
	waitFor(t, 5*time.Second, "the request in flight", func() bool { return h.counter("rococo_band_requests_in_flight") == 1 })
	if err := h.stop(200 * time.Millisecond); err != nil {
		t.Errorf("Shutdown() = %v, want nil (the request returned once cancelled)", err)
	}
	if got := <-answered; got.code != http.StatusServiceUnavailable {
		t.Errorf("the cancelled request = %d %s, want 503", got.code, got.body)
	}
}

// A handler that was answered at its Timeout and ignores its ctx still
// runs at the shutdown deadline: Shutdown counts it.
func TestShutdown_counts_handlers_still_running_past_their_timeout(t *testing.T) {
	s := band.New()
	release := make(chan struct{})
	defer close(release)
	band.Handle(s, "GET /stuck", func(ctx context.Context, _ struct{}) (string, error) {
		<-release // ignores its ctx
		return "", nil
	}, band.Timeout(50*time.Millisecond))
	h := start(t, s, "", nil)
	if got := do(t, "GET", h.url+"/stuck", "", ""); got.code != http.StatusGatewayTimeout {
		t.Fatalf("GET /stuck = %d %s, want 504", got.code, got.body)
	}
	err := h.stop(100 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "band: 1 handler(s) still running a second after the shutdown deadline") {
		t.Errorf("Shutdown() = %v, want the one handler still running counted", err)
	}
}

func TestScheduled_runs_on_rococo_cron(t *testing.T) {
	var runs atomic.Int32
	s := band.New()
	s.Every("tick", 20*time.Millisecond, func(context.Context) error {
		if runs.Add(1) == 2 {
			return errors.New("second run failed")
		}
		return nil
	}, band.AtStartup())
	s.Crontab("nightly", "0 3 * * *", nop)
	h := start(t, s, "", nil)
	waitFor(t, 5*time.Second, "3 runs", func() bool { return runs.Load() >= 3 })
	h.stop(5 * time.Second)
	n := runs.Load()
	time.Sleep(60 * time.Millisecond)
	if runs.Load() != n {
		t.Errorf("runs went on after the shutdown: %d then %d", n, runs.Load())
	}
	if got := h.counter("rococo_band_scheduled_failures_total", "function", "tick"); got != 1 {
		t.Errorf("failures{tick} = %v, want 1", got)
	}
	if got := h.counter("rococo_band_scheduled_runs_total", "function", "tick"); got != float64(n) {
		t.Errorf("runs{tick} = %v, want %d", got, n)
	}
}

func TestFunctions_list_every_role_with_its_options(t *testing.T) {
	s := band.New()
	band.Handle(s, "GET /lookup/{ip}", lookup, band.Timeout(2*time.Second))
	band.Handle(s, "tick", lookup, band.MaxBody(512))
	s.Worker("load", func(ctx context.Context) error { <-ctx.Done(); return nil }, band.GatesReadiness())
	s.Every("refresh", time.Hour, nop)
	s.Cleanup("flush", nop)
	h := start(t, s, "", nil)
	waitFor(t, 5*time.Second, "the worker to run", func() bool { return h.r.Functions()[2].State == "running" })
	b, err := json.Marshal(h.r.Functions())
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"name":"lookup","role":"handler","options":{"max_body_bytes":1048576,"methods":["GET"],"path":"/lookup/{ip}","timeout_ms":2000}},` +
		`{"name":"tick","role":"handler","options":{"max_body_bytes":512,"methods":["GET","POST"],"path":"/tick"}},` +
		`{"name":"load","role":"worker","options":{"failure_decay_ms":30000,"gates_readiness":true,"restart_base_ms":1000,"restart_max_ms":60000},"state":"running"},` +
		`{"name":"refresh","role":"scheduled","options":{"at_startup":false,"schedule":"every 1h0m0s"}},` +
		`{"name":"flush","role":"cleanup"}]`
	if string(b) != want {
		t.Errorf("Functions() =\n%s\nwant\n%s", b, want)
	}
}

func TestPublisher_reaches_every_function_through_its_ctx(t *testing.T) {
	tr := rococotest.NewTransport()
	got := make(chan rococo.Publisher, 3)
	s := band.New()
	band.Handle(s, "GET /pub", func(ctx context.Context, _ struct{}) (bool, error) {
		got <- band.Publisher(ctx)
		return true, nil
	})
	s.Worker("w", func(ctx context.Context) error { <-ctx.Done(); got <- band.Publisher(ctx); return nil })
	s.Cleanup("c", func(ctx context.Context) error { got <- band.Publisher(ctx); return nil })
	h := start(t, s, "", nil)
	h.r.SetPublisher(tr)
	if band.Publisher(context.Background()) != nil {
		t.Error("Publisher(Background) is not nil")
	}
	h.do("GET", "/pub", "", "")
	h.stop(5 * time.Second)
	for range 3 {
		if p := <-got; p != rococo.Publisher(tr) {
			t.Errorf("Publisher(ctx) = %v, want the transport", p)
		}
	}
}
