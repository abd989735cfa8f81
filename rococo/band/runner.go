package band

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/bus"
	"github.com/rococo-go/rococo/rococo/cron"
	"github.com/rococo-go/rococo/rococo/health"
	"github.com/rococo-go/rococo/rococo/report"
)

// Runtime is what the host gives a Runner.
type Runtime struct {
	// Logger receives the runner's logs; nil discards them.
	Logger *slog.Logger
	// Registerer takes the runner's collectors (rococo_band_*); nil
	// registers nothing.
	Registerer prometheus.Registerer
	// Reporter receives handler 5xx errors and panics, worker failures and
	// cleanup failures; nil reports nothing.
	Reporter report.Reporter
	// Location is the time zone of Crontab expressions; nil means UTC.
	Location *time.Location
	// ShutdownTimeout is what a scheduled run in progress has after
	// StopIntake (the rest of the shutdown is bounded by Shutdown's ctx).
	ShutdownTimeout time.Duration
}

// States of a runner, as /status shows them.
const (
	StateStarting = "starting" // workers that gate readiness have not had a successful round
	StateReady    = "ready"
	StateDraining = "draining" // intake stopped: requests drain, then workers stop and cleanups run
	StateStopped  = "stopped"
)

var stateNames = [...]string{StateStarting, StateReady, StateDraining, StateStopped}

const (
	starting int32 = iota
	ready
	draining
	stopped
)

// grace is how long Shutdown waits for work that was cancelled at the
// deadline to return, as the router and the cron scheduler do.
const grace = time.Second

// Runner runs a configured Service: the host mounts its Handler on the
// service's port, calls Start, then StopIntake at SIGTERM and Shutdown. Its
// methods are safe for concurrent use.
type Runner struct {
	s       *Service
	rt      Runtime
	log     *slog.Logger
	rep     report.Reporter
	metrics *metrics
	track   *tracker     // the requests on the port and their handlers
	calls   *tracker     // the calls served over the bus (ServeBus) and their handlers
	serving atomic.Int64 // handler requests and calls in flight (the gauge's value)
	state   atomic.Int32
	pending atomic.Int32 // workers gating readiness without a first success

	// base is the ctx of every request on the port (http.Server's
	// BaseContext); it is cancelled at the shutdown deadline.
	base       context.Context
	cancelBase context.CancelFunc

	workers   []*workerRun
	tasks     []*taskRun
	publisher atomic.Pointer[rococo.Publisher]
	bus       atomic.Pointer[bus.Bus]

	startOnce, stopOnce sync.Once
	cancelWorkers       context.CancelFunc
	cancelTasks         context.CancelFunc
	workersDone         sync.WaitGroup
	tasksDone           sync.WaitGroup
}

type taskRun struct {
	name  string
	sched *cron.Scheduler
	err   error // Run's, once tasksDone
}

// Runner returns the runner of a configured service (Configure returned no
// error). It starts nothing.
func (s *Service) Runner(rt Runtime) (*Runner, error) {
	if !s.configured || s.err != nil {
		return nil, errors.New("band: Runner before a successful Configure")
	}
	log := rt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rep := rt.Reporter
	if rep == nil {
		rep = report.Nop
	}
	r := &Runner{s: s, rt: rt, log: log, rep: rep, metrics: newMetrics(rt.Registerer), track: newTracker(), calls: newTracker()}
	base, cancel := context.WithCancel(context.Background())
	r.base, r.cancelBase = context.WithValue(base, runnerKey{}, r), cancel
	for _, f := range s.fns {
		switch {
		case f.worker != nil:
			w := &workerRun{r: r, name: f.name, w: f.worker, restarts: r.metrics.restarts.WithLabelValues(f.name)}
			w.state.Store(workerStarting)
			if f.worker.gates {
				r.pending.Add(1)
			}
			r.workers = append(r.workers, w)
		case f.task != nil:
			sched, err := cron.New(f.task.spec, rococo.CronProcessorFunc(f.task.fn), cron.Options{
				Logger:          log.With("function", f.name),
				Metrics:         r.metrics.task(f.name),
				Reporter:        rep,
				Location:        rt.Location,
				ShutdownTimeout: rt.ShutdownTimeout,
			})
			if err != nil {
				return nil, fmt.Errorf("band: scheduled %s: %w", f.name, err)
			}
			r.tasks = append(r.tasks, &taskRun{name: f.name, sched: sched})
		}
	}
	return r, nil
}

type runnerKey struct{}

// SetPublisher gives the functions the service's broker (MESSAGING_TYPE),
// which Publisher returns from their ctx. The host calls it once the
// transport is open.
func (r *Runner) SetPublisher(p rococo.Publisher) {
	if p != nil {
		r.publisher.Store(&p)
	}
}

// Publisher returns the service's broker from the ctx of a handler, worker,
// scheduled function or cleanup: nil when MESSAGING_TYPE is unset (or ctx
// is not a function's). A handler of an admin endpoint can send messages
// with it:
//
//	if p := band.Publisher(ctx); p != nil {
//		err = p.Publish(ctx, "replays", &rococo.Message{Body: body})
//	}
func Publisher(ctx context.Context) rococo.Publisher {
	r, _ := ctx.Value(runnerKey{}).(*Runner)
	if r == nil {
		return nil
	}
	if p := r.publisher.Load(); p != nil {
		return *p
	}
	return nil
}

// BaseContext is the ctx of every request on the service's port: the host
// sets it as its http.Server's BaseContext, so that the handlers still
// running at the shutdown deadline see their ctx cancelled.
func (r *Runner) BaseContext() context.Context { return r.base }

// Handler returns the service's HTTP handler: its handlers' routes, the
// ReservedPaths served by reserved (the host's health handler), and JSON
// 404 and 405 answers for everything else.
func (r *Runner) Handler(reserved http.Handler) http.Handler {
	h, _ := r.s.mux(r.route, reserved) // Configure built the same mux without error
	return h
}

// Start starts the workers and the scheduled functions. ctx's values reach
// them; its cancellation does not stop them (StopIntake and Shutdown do).
func (r *Runner) Start(ctx context.Context) {
	r.startOnce.Do(func() {
		ctx = context.WithValue(context.WithoutCancel(ctx), runnerKey{}, r)
		wctx, cancel := context.WithCancel(ctx)
		r.cancelWorkers = cancel
		for _, w := range r.workers {
			r.workersDone.Add(1)
			go w.supervise(wctx)
		}
		tctx, cancelTasks := context.WithCancel(ctx)
		r.cancelTasks = cancelTasks
		for _, t := range r.tasks {
			r.tasksDone.Add(1)
			go func() {
				defer r.tasksDone.Done()
				t.err = t.sched.Run(tctx)
			}()
		}
		r.log.Info("band service started", "functions", len(r.s.fns), "workers", len(r.workers), "scheduled", len(r.tasks), "gating_readiness", r.pending.Load())
		r.readyIfLoaded()
	})
}

// readyIfLoaded turns the runner ready once started and every gating
// worker had its first success.
func (r *Runner) readyIfLoaded() {
	if r.pending.Load() == 0 && r.cancelWorkers != nil && r.state.CompareAndSwap(starting, ready) {
		r.log.Info("band service ready")
	}
}

// Ready returns nil when the service is ready to serve, else why not. It
// backs /readyz and does not block.
func (r *Runner) Ready() error {
	switch s := r.state.Load(); s {
	case ready:
		return nil
	case starting:
		if n := r.pending.Load(); n > 0 {
			return fmt.Errorf("waiting for %d worker(s) that gate readiness", n)
		}
		return errors.New("starting")
	default:
		return errors.New(stateNames[s])
	}
}

// State returns StateStarting, StateReady, StateDraining or StateStopped.
func (r *Runner) State() string { return stateNames[r.state.Load()] }

// StopIntake begins the shutdown: from now on handler requests answer 503
// (with Connection: close), scheduled functions start no new run,
// /readyz answers 503 and /status says draining. Requests in flight go on.
// It is idempotent.
func (r *Runner) StopIntake() {
	r.stopOnce.Do(func() {
		r.state.Store(draining)
		r.track.drain()
		if r.cancelTasks != nil {
			r.cancelTasks()
		}
		r.log.Info("band intake stopped: draining requests", "in_flight", r.serving.Load())
	})
}

// Shutdown stops the service within ctx's deadline (what is left of
// SHUTDOWN_TIMEOUT), in this order: intake stops (StopIntake), requests in
// flight on the port drain, the bus's calls stop (ServeBus) and those in
// flight drain, scheduled runs in progress finish, workers' ctx is
// cancelled and they return, then the cleanups run, last registered first,
// each with ctx. Work still going at the deadline has its ctx cancelled and
// a second of grace. Shutdown returns every failure joined: a cleanup's
// error or panic, and work that did not return; nil means a clean stop.
func (r *Runner) Shutdown(ctx context.Context) error {
	r.StopIntake()
	var errs []error
	start := time.Now()
	drained := r.track.wait(ctx)
	r.calls.drain() // after the port's requests, which may call the service's own functions
	if !drained || !r.calls.wait(ctx) {
		r.log.Warn("shutdown deadline reached: cancelling the handlers still running", "running", r.running())
		r.cancelBase()
		gctx, cancel := context.WithTimeout(context.Background(), grace)
		if !r.track.wait(gctx) || !r.calls.wait(gctx) {
			errs = append(errs, fmt.Errorf("band: %d handler(s) still running a second after the shutdown deadline", r.running()))
		}
		cancel()
	}
	r.cancelBase()
	r.log.Info("band requests drained", "duration", time.Since(start))

	if r.cancelTasks != nil {
		r.tasksDone.Wait() // each scheduler bounds its run in progress by ShutdownTimeout and a grace
		for _, t := range r.tasks {
			if t.err != nil {
				errs = append(errs, fmt.Errorf("band: scheduled %s: %w", t.name, t.err))
			}
		}
	}
	if r.cancelWorkers != nil {
		r.cancelWorkers()
		if !wait(ctx, &r.workersDone) {
			var running []string
			for _, w := range r.workers {
				if w.state.Load() != workerStopped && w.state.Load() != workerDone {
					running = append(running, w.name)
				}
			}
			errs = append(errs, fmt.Errorf("band: worker(s) %v did not return after their ctx was cancelled", running))
		}
	}
	cctx := context.WithValue(ctx, runnerKey{}, r)
	for i := len(r.s.fns) - 1; i >= 0; i-- {
		if f := r.s.fns[i]; f.role == RoleCleanup {
			if err := r.runCleanup(cctx, f); err != nil {
				errs = append(errs, err)
			}
		}
	}
	r.state.Store(stopped)
	return errors.Join(errs...)
}

// running counts the requests, calls and handlers past their timeout that
// have not returned.
func (r *Runner) running() int64 { return r.track.n.Load() + r.calls.n.Load() }

// wait waits for wg until ctx is done plus the grace period; it reports
// whether wg finished.
func wait(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// runCleanup runs one cleanup within ctx (plus the grace period), logging
// and reporting its failure.
func (r *Runner) runCleanup(ctx context.Context, f *function) error {
	log := r.log.With("function", f.name)
	start := time.Now()
	log.Info("cleanup started")
	done := make(chan error, 1)
	go func() { done <- safeCall(ctx, f.cleanup) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		t := time.NewTimer(grace)
		select {
		case err = <-done:
		case <-t.C:
			err = fmt.Errorf("did not return by the shutdown deadline (%w)", ctx.Err())
		}
		t.Stop()
	}
	d := time.Since(start)
	if err == nil {
		log.Info("cleanup done", "duration", d)
		return nil
	}
	logFailure(log, "cleanup failed", err, "duration", d)
	r.rep.Report(context.WithoutCancel(ctx), err, slog.String("function", f.name), slog.String("role", RoleCleanup))
	return fmt.Errorf("band: cleanup %s: %w", f.name, err)
}

// safeCall calls fn, turning a panic into a *report.PanicError.
func safeCall(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = report.NewPanicError(v)
		}
	}()
	return fn(ctx)
}

// logFailure logs err at error level, with the stack of a panic.
func logFailure(log *slog.Logger, msg string, err error, attrs ...any) {
	var p *report.PanicError
	if errors.As(err, &p) {
		attrs = append(attrs, "stack", p.StackTrace())
	}
	log.Error(msg, append(attrs, "error", err)...)
}

// Functions returns every registered function with its role and options,
// and the state of those that run on their own, for /status (the gateway's
// registry reads it).
func (r *Runner) Functions() []health.Function {
	out := make([]health.Function, 0, len(r.s.fns))
	wi := 0
	ti := 0
	for _, f := range r.s.fns {
		hf := health.Function{Name: f.name, Role: f.role}
		switch {
		case f.handler != nil:
			h := f.handler
			hf.Options = map[string]any{"methods": h.methods, "path": h.path, "max_body_bytes": h.maxBody}
			if h.timeout > 0 {
				hf.Options["timeout_ms"] = h.timeout.Milliseconds()
			}
			if h.local {
				hf.Options["local"] = true
			}
		case f.worker != nil:
			w := r.workers[wi]
			wi++
			hf.Options = map[string]any{
				"gates_readiness":  f.worker.gates,
				"restart_base_ms":  f.worker.retry.Base.Milliseconds(),
				"restart_max_ms":   f.worker.retry.Max.Milliseconds(),
				"failure_decay_ms": f.worker.decay.Milliseconds(),
			}
			hf.State = workerStateNames[w.state.Load()]
			hf.Restarts = int(w.restartCount.Load())
		case f.enricher != nil:
			hf.Options = enricherOptions(f.enricher)
		case f.task != nil:
			hf.Options = map[string]any{"schedule": r.tasks[ti].sched.String(), "at_startup": f.task.spec.RunAtStartup}
			ti++
		case f.listener != nil:
			hf.Options = listenerOptions(f.listener)
		}
		out = append(out, hf)
	}
	return out
}
