package band

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/rococo-go/rococo/internal/backoff"
	"github.com/rococo-go/rococo/rococo/cron"
)

// The roles of a service's functions, as /status lists them.
const (
	RoleHandler   = "handler"   // answers HTTP requests (Handle)
	RoleWorker    = "worker"    // runs for as long as the service (Worker)
	RoleScheduled = "scheduled" // runs on a schedule (Every, Crontab)
	RoleCleanup   = "cleanup"   // runs once at shutdown (Cleanup)
)

// Service is a Band service: the functions and settings registered in main,
// then run by common.Main (the service host):
//
//	func main() {
//		var cfg lib.Settings
//		s := band.New(band.Settings(&cfg))
//		geo := lib.NewGeo(&cfg)
//		band.Handle(s, "GET /lookup/{ip}", geo.Lookup, band.Timeout(2*time.Second))
//		s.Worker("load", geo.Load, band.GatesReadiness())
//		s.Cleanup("flush", geo.Flush)
//		common.Main(s)
//	}
//
// Registration is done once, from one goroutine, before the service starts;
// a registration mistake (a duplicate name or route, a bad pattern, an input
// type that cannot be bound) is kept and stops the service at start with
// exit status 2 and one line naming the function and the fix. A Service has
// no global state: nothing registers itself from an import.
type Service struct {
	settings   any
	defaults   handlerConfig
	fns        []*function // in registration order
	byName     map[string]*function
	routes     map[string]string // "METHOD /path" -> the handler's name
	err        error             // the first registration mistake
	configured bool
}

// function is one registered function; exactly one of its role's fields is
// set.
type function struct {
	name     string
	role     string
	handler  *handler
	worker   *worker
	task     *task
	cleanup  func(context.Context) error
	enricher *enricher
	listener *listener
}

// ServiceOption configures a Service.
type ServiceOption func(*Service)

// Settings makes the service's settings file decode into dst, a pointer to
// the service's own struct: config.yaml, then custom.yaml, from the working
// directory, rendered with the environment (see package rococo/settings).
// The host loads them at start, before any function runs, so functions may
// read *dst without locking as long as nothing writes it. An unknown key, a
// value of the wrong type or an unset variable without a default stops the
// service with exit status 2. Without Settings the files may hold only the
// runtime's own keys (name, listen).
func Settings(dst any) ServiceOption { return func(s *Service) { s.settings = dst } }

// Defaults sets the options of every handler, before its own (a service-wide
// Timeout or MaxBody).
func Defaults(opts ...HandlerOption) ServiceOption {
	return func(s *Service) {
		for _, o := range opts {
			if _, named := o.(nameOption); named {
				s.fail(&RegistrationError{Function: "band.Defaults", Problem: "band.Name names one handler", Fix: "pass band.Name to band.Handle"})
				continue
			}
			if err := o.applyHandler(&s.defaults); err != nil {
				s.fail(&RegistrationError{Function: "band.Defaults", Problem: err.Error(), Fix: "pass a valid value"})
			}
		}
	}
}

// New returns a Service with no functions.
func New(opts ...ServiceOption) *Service {
	s := &Service{
		defaults: handlerConfig{maxBody: DefaultMaxBody},
		byName:   map[string]*function{},
		routes:   map[string]string{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// fail keeps the first registration mistake.
func (s *Service) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// add registers f under its name.
func (s *Service) add(f *function) {
	if s.configured {
		s.fail(&RegistrationError{Function: f.name, Problem: "registered after the service started", Fix: "register every function in main, before common.Main"})
		return
	}
	if !nameRE.MatchString(f.name) {
		s.fail(&RegistrationError{Function: fmt.Sprintf("%q", f.name), Problem: fmt.Sprintf("the %s's name is not a word", f.role), Fix: "name it with letters, digits, _ and - only"})
		return
	}
	if prev := s.byName[f.name]; prev != nil {
		s.fail(&RegistrationError{Function: f.name, Problem: fmt.Sprintf("the name is taken by a %s registered before", prev.role), Fix: "give each function its own name (band.Name for a handler)"})
		return
	}
	s.byName[f.name] = f
	s.fns = append(s.fns, f)
}

// WorkerOption configures a worker.
type WorkerOption interface{ applyWorker(*worker) error }

type worker struct {
	fn    func(context.Context) error
	gates bool
	retry backoff.Policy
	decay time.Duration
}

// Defaults of a worker's restarts.
const (
	DefaultRestartBase  = time.Second
	DefaultRestartMax   = time.Minute
	DefaultFailureDecay = 30 * time.Second
)

// Worker registers fn to run for as long as the service: started with it,
// its ctx cancelled at shutdown (after in-flight requests drained). A worker
// that returns an error or panics is logged, reported, counted in
// rococo_band_worker_restarts_total and started again after a delay that
// doubles with each recent failure (DefaultRestartBase 1s up to
// DefaultRestartMax 1m, ±10 % jitter); failures count less as time passes
// (halved every DefaultFailureDecay, 30s), so a worker that failed once an
// hour ago restarts after the base delay. A worker that returns nil is done
// and not started again. See GatesReadiness, Backoff and FailureDecay.
func (s *Service) Worker(name string, fn func(ctx context.Context) error, opts ...WorkerOption) {
	w := &worker{fn: fn, retry: backoff.Policy{Base: DefaultRestartBase, Max: DefaultRestartMax, Jitter: 0.1}, decay: DefaultFailureDecay}
	if fn == nil {
		s.fail(&RegistrationError{Function: name, Problem: "the worker's function is nil", Fix: "pass a func(ctx context.Context) error"})
		return
	}
	for _, o := range opts {
		if err := o.applyWorker(w); err != nil {
			s.fail(&RegistrationError{Function: name, Problem: err.Error(), Fix: "pass a valid value"})
			return
		}
	}
	s.add(&function{name: name, role: RoleWorker, worker: w})
}

type gatesOption struct{}

// GatesReadiness keeps the service not ready (/readyz 503, /status
// "starting") until the worker's first successful round: it calls
// MarkReady(ctx), or returns nil. Band's skeleton sets state.loaded after
// its first load; this is that, seen by the orchestrator.
func GatesReadiness() WorkerOption { return gatesOption{} }

func (gatesOption) applyWorker(w *worker) error { w.gates = true; return nil }

type backoffOption struct{ base, max time.Duration }

// Backoff sets the delay before a worker's restart: base after a first
// failure, doubling with each recent one, at most max. The defaults are
// DefaultRestartBase and DefaultRestartMax.
func Backoff(base, max time.Duration) WorkerOption { return backoffOption{base, max} }

func (o backoffOption) applyWorker(w *worker) error {
	if o.base <= 0 || o.max < o.base {
		return fmt.Errorf("band.Backoff(%v, %v): want 0 < base <= max", o.base, o.max)
	}
	w.retry.Base, w.retry.Max = o.base, o.max
	return nil
}

type decayOption time.Duration

// FailureDecay sets how fast a worker's past failures stop counting: their
// count halves every d (as suture's FailureDecay). The default is
// DefaultFailureDecay.
func FailureDecay(d time.Duration) WorkerOption { return decayOption(d) }

func (o decayOption) applyWorker(w *worker) error {
	if o <= 0 {
		return fmt.Errorf("band.FailureDecay(%v): want a positive duration", time.Duration(o))
	}
	w.decay = time.Duration(o)
	return nil
}

type readyKey struct{}

// MarkReady marks the first successful round of the worker whose ctx it is
// given (Band's state.loaded = True): a worker registered with
// GatesReadiness lets the service turn ready. Later calls, and calls with
// any other ctx, do nothing. It is safe for concurrent use.
func MarkReady(ctx context.Context) {
	if w, ok := ctx.Value(readyKey{}).(*workerRun); ok {
		w.markReady()
	}
}

// TaskOption configures a scheduled task.
type TaskOption interface{ applyTask(*task) error }

type task struct {
	spec cron.Spec
	fn   func(context.Context) error
}

type atStartupOption struct{}

// AtStartup runs a scheduled task once as soon as the service starts, then
// on its schedule (RUN_AT_STARTUP for a cron service).
func AtStartup() TaskOption { return atStartupOption{} }

func (atStartupOption) applyTask(t *task) error { t.spec.RunAtStartup = true; return nil }

// Every registers fn to run every d, the first time d after the start. Runs
// never overlap (a run due while the previous one goes on is skipped,
// logged and counted), an error or panic is logged, reported and counted
// and the schedule goes on, and at shutdown no run starts while one in
// progress may finish within SHUTDOWN_TIMEOUT. It is rococo/cron's
// scheduler, as a CRON service has it.
func (s *Service) Every(name string, d time.Duration, fn func(ctx context.Context) error, opts ...TaskOption) {
	if d < cron.MinInterval {
		s.fail(&RegistrationError{Function: name, Problem: fmt.Sprintf("the interval %v is shorter than %v", d, cron.MinInterval), Fix: "pass a longer interval"})
		return
	}
	s.schedule(name, cron.Spec{Every: d}, fn, opts)
}

// Crontab registers fn to run whenever the 5-field crontab expression expr
// fires (Band's @crontab('*/1 * * * *')), in the service's time zone (TZ,
// UTC by default). Runs behave as Every's.
func (s *Service) Crontab(name, expr string, fn func(ctx context.Context) error, opts ...TaskOption) {
	exprs, err := cron.ParseExpressions(expr)
	if err != nil {
		s.fail(&RegistrationError{Function: name, Problem: fmt.Sprintf("the crontab expression %q does not parse", expr), Fix: "write a 5-field expression such as \"*/5 * * * *\" or \"0 3 * * mon-fri\""})
		return
	}
	s.schedule(name, cron.Spec{Expressions: exprs}, fn, opts)
}

func (s *Service) schedule(name string, spec cron.Spec, fn func(context.Context) error, opts []TaskOption) {
	if fn == nil {
		s.fail(&RegistrationError{Function: name, Problem: "the scheduled function is nil", Fix: "pass a func(ctx context.Context) error"})
		return
	}
	t := &task{spec: spec, fn: fn}
	for _, o := range opts {
		if err := o.applyTask(t); err != nil {
			s.fail(&RegistrationError{Function: name, Problem: err.Error(), Fix: "pass a valid value"})
			return
		}
	}
	s.add(&function{name: name, role: RoleScheduled, task: t})
}

// Cleanup registers fn to run once at shutdown, after in-flight requests
// drained and workers stopped. Cleanups run one after the other in the
// reverse order of their registration (the last registered first, as
// deferred calls), each with a ctx whose deadline is what is left of
// SHUTDOWN_TIMEOUT; an error or panic is logged and reported, the next
// cleanup still runs, and the service exits 1 instead of 0. Unlike Band's,
// a cleanup may take its time: it is not cancelled at its first await.
func (s *Service) Cleanup(name string, fn func(ctx context.Context) error) {
	if fn == nil {
		s.fail(&RegistrationError{Function: name, Problem: "the cleanup function is nil", Fix: "pass a func(ctx context.Context) error"})
		return
	}
	s.add(&function{name: name, role: RoleCleanup, cleanup: fn})
}
