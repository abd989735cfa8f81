package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/report"
)

// Metrics is what the scheduler counts; *metrics.Metrics implements it.
type Metrics interface {
	CronRun(d time.Duration, err error)
	CronSkipped()
}

// Options configure a Scheduler. The zero value works: real clock, no
// logging, metrics or reporting, UTC, no shutdown grace.
type Options struct {
	// Clock is the source of time; nil means the real clock.
	Clock Clock
	// Logger receives run, skip and failure logs; nil discards them.
	Logger *slog.Logger
	// Metrics counts runs, failures and skips; nil counts nothing.
	Metrics Metrics
	// Reporter receives run errors and panics (e.g. Rollbar); nil
	// reports nothing.
	Reporter report.Reporter
	// Location is the time zone of CRON_RUN_AT and of crontab expressions;
	// nil means UTC.
	Location *time.Location
	// ShutdownTimeout is how long a run in progress may go on after Run's
	// ctx is cancelled before its own ctx is cancelled.
	ShutdownTimeout time.Duration
}

// ErrShutdownTimeout is returned by Run when a run in progress did not
// return within ShutdownTimeout (plus a grace second after its ctx was
// cancelled).
var ErrShutdownTimeout = errors.New("cron shutdown timeout: run still in progress")

// cancelGrace is how long Run waits for a run to return once its ctx was
// cancelled at the shutdown deadline.
const cancelGrace = time.Second

// Scheduler calls a CronProcessor on a Spec's schedule. Its methods are safe
// for concurrent use; Run may be called once.
type Scheduler struct {
	proc  rococo.CronProcessor
	sched schedule
	spec  Spec
	opts  Options
	log   *slog.Logger

	started atomic.Bool
	state   atomic.Int32 // stateNew, stateRunning, stateStopping, stateStopped
	running atomic.Bool  // a run is in progress
}

const (
	stateNew int32 = iota
	stateRunning
	stateStopping
	stateStopped
)

// New returns a Scheduler that calls proc on spec's schedule. It fails when
// spec is invalid or proc is nil.
func New(spec Spec, proc rococo.CronProcessor, opts Options) (*Scheduler, error) {
	if proc == nil {
		return nil, errors.New("cron: nil processor")
	}
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.ShutdownTimeout < 0 {
		return nil, fmt.Errorf("cron: negative shutdown timeout %v", opts.ShutdownTimeout)
	}
	sched, err := newSchedule(spec, opts.Location)
	if err != nil {
		return nil, fmt.Errorf("cron: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{proc: proc, sched: sched, spec: spec, opts: opts, log: log}, nil
}

// String describes the schedule, e.g. "every 5m0s".
func (s *Scheduler) String() string { return s.sched.String() }

// Ready returns nil while Run is scheduling, else an error saying why not.
// It backs /readyz and does not block.
func (s *Scheduler) Ready() error {
	switch s.state.Load() {
	case stateRunning:
		return nil
	case stateNew:
		return errors.New("cron scheduler not started")
	case stateStopping:
		return errors.New("cron scheduler shutting down")
	default:
		return errors.New("cron scheduler stopped")
	}
}

// Run runs the schedule until ctx is cancelled: with RunAtStartup it starts
// a run at once, then one at each fire time; a fire time that comes while a
// run is still going is skipped (logged and counted). Once ctx is cancelled
// no new run starts, and a run in progress may finish within
// ShutdownTimeout; after that its ctx is cancelled and Run returns
// ErrShutdownTimeout if it still has not returned a second later. Run
// returns nil after a clean stop.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("cron: Run called twice")
	}
	// Runs get a ctx that outlives ctx: it is cancelled only at the
	// shutdown deadline.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	var wg sync.WaitGroup
	done := make(chan struct{}) // closed when the last run returned

	clock := s.opts.Clock
	now := clock.Now()
	next := s.sched.first(now)
	s.state.Store(stateRunning)
	s.log.Info("cron scheduler started", "schedule", s.sched.String(), "run_at_startup", s.spec.RunAtStartup, "next_run", next)
	if s.spec.RunAtStartup {
		s.start(runCtx, &wg, "startup")
	}
loop:
	for {
		if next.IsZero() {
			s.log.Error("cron schedule never fires again; waiting for shutdown", "schedule", s.sched.String())
			<-ctx.Done()
			break
		}
		t := clock.NewTimer(next.Sub(clock.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			break loop
		case <-t.C():
		}
		due := next
		if s.running.Load() {
			s.log.Warn("cron run skipped: previous run still in progress", "due", due)
			if s.opts.Metrics != nil {
				s.opts.Metrics.CronSkipped()
			}
		} else {
			s.start(runCtx, &wg, "schedule")
		}
		now := clock.Now()
		next = s.sched.following(due, now)
		s.log.Debug("cron next run", "next_run", next)
	}

	s.state.Store(stateStopping)
	defer s.state.Store(stateStopped)
	go func() { wg.Wait(); close(done) }()
	if !s.running.Load() {
		<-done
		s.log.Info("cron scheduler stopped")
		return nil
	}
	s.log.Info("cron scheduler stopping: waiting for the run in progress", "shutdown_timeout", s.opts.ShutdownTimeout)
	deadline := clock.NewTimer(s.opts.ShutdownTimeout)
	defer deadline.Stop()
	select {
	case <-done:
		s.log.Info("cron scheduler stopped after the run in progress finished")
		return nil
	case <-deadline.C():
	}
	s.log.Warn("cron shutdown timeout reached: cancelling the run in progress", "shutdown_timeout", s.opts.ShutdownTimeout)
	cancelRuns()
	grace := clock.NewTimer(cancelGrace)
	defer grace.Stop()
	select {
	case <-done:
		return nil
	case <-grace.C():
		return ErrShutdownTimeout
	}
}

// start starts one run in its own goroutine; the caller checked that no run
// is in progress (only Run's goroutine starts runs).
func (s *Scheduler) start(ctx context.Context, wg *sync.WaitGroup, trigger string) {
	s.running.Store(true)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = s.runOnce(ctx, trigger) // logged, counted and reported; the schedule goes on
	}()
}

// RunOnce calls the processor once, now, instead of running the schedule
// (the host's --once flag, for a Kubernetes CronJob or a quick try). The run
// is logged, counted and reported as a scheduled one, and its error (a panic
// becomes a *report.PanicError) is returned. Once ctx is cancelled the run may
// finish within ShutdownTimeout; then its ctx is cancelled, and RunOnce
// returns ErrShutdownTimeout if it still has not returned a second later.
func (s *Scheduler) RunOnce(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("cron: RunOnce called after Run or RunOnce")
	}
	s.state.Store(stateRunning)
	defer s.state.Store(stateStopped)
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRun()
	s.running.Store(true)
	errc := make(chan error, 1)
	go func() { errc <- s.runOnce(runCtx, "once") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.state.Store(stateStopping)
	deadline := s.opts.Clock.NewTimer(s.opts.ShutdownTimeout)
	defer deadline.Stop()
	select {
	case err := <-errc:
		return err
	case <-deadline.C():
	}
	s.log.Warn("cron shutdown timeout reached: cancelling the run in progress", "shutdown_timeout", s.opts.ShutdownTimeout)
	cancelRun()
	grace := s.opts.Clock.NewTimer(cancelGrace)
	defer grace.Stop()
	select {
	case err := <-errc:
		return err
	case <-grace.C():
		return ErrShutdownTimeout
	}
}

// runOnce runs the processor, clears the running flag, then logs, counts and
// reports the outcome, which it returns.
func (s *Scheduler) runOnce(ctx context.Context, trigger string) error {
	clock := s.opts.Clock
	start := clock.Now()
	s.log.Debug("cron run started", "trigger", trigger)
	err := s.call(ctx)
	d := clock.Now().Sub(start)
	s.running.Store(false)
	if s.opts.Metrics != nil {
		s.opts.Metrics.CronRun(d, err)
	}
	if err == nil {
		s.log.Info("cron run finished", "trigger", trigger, "duration", d)
		return nil
	}
	var p *report.PanicError
	if errors.As(err, &p) {
		s.log.Error("cron run panicked", "trigger", trigger, "duration", d, "error", err, "stack", p.StackTrace())
	} else {
		s.log.Error("cron run failed", "trigger", trigger, "duration", d, "error", err)
	}
	if s.opts.Reporter != nil {
		s.opts.Reporter.Report(context.WithoutCancel(ctx), err, slog.String("trigger", trigger), slog.Duration("duration", d))
	}
	return err
}

// call runs the processor once, turning a panic into a *report.PanicError
// (which carries the panic's stack to the log and to Rollbar).
func (s *Scheduler) call(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = report.NewPanicError(r)
		}
	}()
	return s.proc.Process(ctx)
}
