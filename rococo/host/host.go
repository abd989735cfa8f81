package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/cron"
	"github.com/rococo-go/rococo/rococo/health"
	"github.com/rococo-go/rococo/rococo/metrics"
	"github.com/rococo-go/rococo/rococo/report"
	"github.com/rococo-go/rococo/rococo/router"
)

// Version is the version of the service host (the Rococo runtime), printed
// as "Rococo Service Host Version: X" like Python's rococo-service-host.
const Version = "0.1.0"

// TransportFactory builds the transport of a MESSAGING_TYPE from the
// configuration. rabbitmq.FromConfig and sqs.FromConfig have this type.
type TransportFactory func(ctx context.Context, cfg *config.Config, log *slog.Logger) (rococo.Transport, error)

// Info describes the service binary.
type Info struct {
	// Name, Version and Commit identify the service (common/version); an
	// empty Name means the executable's name.
	Name, Version, Commit string
	// Transports maps a MESSAGING_TYPE (RabbitMqConnection, SqsConnection)
	// to its factory. A MESSAGING_TYPE with no factory is a configuration
	// error (exit 2).
	Transports map[string]TransportFactory
}

// Timeouts of the health server.
const (
	readHeaderTimeout = 5 * time.Second
	httpShutdown      = 5 * time.Second
)

// Main runs the service and exits with Run's status. It is the only part of
// the host with process-wide effects: it installs the signal handling (the
// first SIGTERM or SIGINT drains, a second one exits at once with status
// 1), sets the slog default logger, and exports the values of .env and
// .env.local into the process environment (without overriding it) so that
// processors reading os.Getenv see them, as in Python.
func Main(info Info, procs ...any) {
	ctx, stop := signalContext()
	o := options{stdout: os.Stdout, stderr: os.Stderr, dir: ".", global: true}
	code := o.run(ctx, os.Args, os.Environ(), info, procs...)
	stop()
	os.Exit(code)
}

// Run runs the service with the given arguments and environment until ctx is
// cancelled (then drains), and returns the exit status (0, 1 or 2, see the
// package doc). It reads .env and .env.local from the working directory,
// writes the banner to stdout and logs to stderr, and changes no process-wide
// state: Main adds signals and the slog default.
func Run(ctx context.Context, args, environ []string, info Info, procs ...any) int {
	o := options{stdout: os.Stdout, stderr: os.Stderr, dir: "."}
	return o.run(ctx, args, environ, info, procs...)
}

// signalContext returns a ctx cancelled by the first SIGTERM or SIGINT; a
// second one exits the process at once with status 1.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			slog.Info("signal received: stopping intake and draining (send it again to exit at once)", "signal", s.String())
			cancel()
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			slog.Error("second signal received: exiting at once", "signal", s.String())
			os.Exit(1)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// options are what Main and Run (and the tests) vary.
type options struct {
	stdout, stderr io.Writer
	dir            string // holds .env and .env.local
	global         bool   // set the slog default and export dotenv values (Main only)
}

// runner is a router.Router or a cron.Scheduler.
type runner interface {
	Run(ctx context.Context) error
	Ready() error
}

// Service states shown by /status.
const (
	stateStarting = "starting"
	stateRunning  = "running"
	stateStopping = "stopping"
	stateStopped  = "stopped"
)

func (o options) run(ctx context.Context, args, environ []string, info Info, procs ...any) int {
	name := info.Name
	if name == "" && len(args) > 0 {
		name = filepath.Base(args[0])
	}
	once := false
	if len(args) > 1 {
		switch {
		case len(args) == 2 && (args[1] == "-version" || args[1] == "--version"):
			o.banner(name, info)
			return 0
		case len(args) == 2 && (args[1] == "-once" || args[1] == "--once"):
			once = true
		default:
			fmt.Fprintf(o.stderr, "usage: %s [--version | --once]: the service takes its configuration from the environment (see SPEC.md section 3), not from arguments %q\n", name, args[1:])
			return 2
		}
	}

	// Everything that can be wrong with the environment or the processor
	// list fails here, before anything connects.
	cfg, err := config.Load(environ, o.dir)
	if err != nil {
		return o.usage(err)
	}
	proc, err := pick(cfg, procs)
	if err != nil {
		return o.usage(err)
	}
	if _, cron := proc.(rococo.CronProcessor); once && !cron {
		fmt.Fprintf(o.stderr, "--once runs a cron processor once, and %s is a messaging processor: to consume until the queue is empty, set EXIT_WHEN_FINISHED=1 in the CONSUME_CONFIG_FILE_PATH file\n", cfg.ProcessorType)
		return 2
	}
	var factory TransportFactory
	if cfg.MessagingType != "" {
		if factory = info.Transports[cfg.MessagingType]; factory == nil {
			return o.usage(&config.Error{Var: "MESSAGING_TYPE", Value: cfg.MessagingType, Accepted: "a transport linked into this service: " + listOr(slices.Sorted(maps.Keys(info.Transports)))})
		}
	}

	log := newLogger(cfg, o.stderr)
	if o.global {
		slog.SetDefault(log)
		exportDotenv(cfg)
	}
	o.banner(name, info)
	log.Info("starting", "service", name, "version", info.Version, "commit", info.Commit, "host_version", Version, "config", cfg)

	s := &service{cfg: cfg, info: info, name: name, log: log, started: time.Now(), once: once}
	s.state.Store(stateStarting)
	code := s.serve(ctx, proc, factory)
	s.state.Store(stateStopped)
	log.Info("exiting", "status", code)
	return code
}

// usage prints a configuration error on one line and returns status 2.
func (o options) usage(err error) int {
	fmt.Fprintln(o.stderr, strings.Join(strings.Fields(err.Error()), " "))
	return 2
}

// banner prints the start-up banner as Python rococo does.
func (o options) banner(name string, info Info) {
	fmt.Fprintf(o.stdout, "Rococo Service Host Version: %s\n", Version)
	fmt.Fprintf(o.stdout, "%s running at version: %s\n", name, info.Version)
	if info.Commit != "" {
		fmt.Fprintf(o.stdout, "Commit: %s\n", info.Commit)
	}
}

// service is one run of the host, past configuration.
type service struct {
	cfg     *config.Config
	info    Info
	name    string
	log     *slog.Logger
	started time.Time
	once    bool         // --once: run the cron processor once instead of its schedule
	state   atomic.Value // string
	runner  atomic.Value // runner, once built
}

func (s *service) serve(ctx context.Context, proc any, factory TransportFactory) int {
	cfg, log := s.cfg, s.log
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	rep := report.NewRollbar(cfg.RollbarToken.Reveal(), cfg.AppEnv, s.name, s.info.Version, report.WithLogger(log.With("component", "rollbar")))
	if c, ok := rep.(io.Closer); ok {
		defer closeLogged(log, "rollbar reporter", c)
	}

	// Runs end when ctx is cancelled (a signal) or the health server dies.
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()

	var stopHealth func() error
	if cfg.HealthAddr != "" || cfg.HealthPort != 0 {
		var err error
		if stopHealth, err = s.startHealth(reg, cancelRun); err != nil {
			log.Error("start health server", "error", err)
			return 1
		}
	}
	code := s.work(runCtx, proc, factory, m, rep)
	if stopHealth != nil {
		if err := stopHealth(); err != nil {
			log.Error("health server failed", "error", err)
			code = 1
		}
	}
	return code
}

// work connects, initialises the processor and runs it until ctx ends.
func (s *service) work(ctx context.Context, proc any, factory TransportFactory, m *metrics.Metrics, rep report.Reporter) int {
	cfg, log := s.cfg, s.log
	var tr rococo.Transport
	if factory != nil {
		var err error
		tr, err = factory(ctx, cfg, log.With("component", "transport"))
		if err != nil {
			log.Error("create transport", "messaging_type", cfg.MessagingType, "error", err)
			return 1
		}
		defer closeLogged(log, "transport", tr)
	}
	if c, ok := proc.(io.Closer); ok {
		defer closeLogged(log, "processor "+cfg.ProcessorType, c)
	}
	if in, ok := proc.(rococo.Initializer); ok {
		rt := rococo.Runtime{Logger: log}
		if tr != nil {
			rt.Publisher = tr
		}
		if err := in.Init(ctx, rt); err != nil {
			log.Error("initialise processor", "processor", cfg.ProcessorType, "error", err)
			return 1
		}
	}

	var r runner
	var err error
	switch p := proc.(type) {
	case rococo.MessageProcessor:
		r, err = router.New(tr, p, router.Config{
			Queue:             cfg.QueueName,
			Concurrency:       cfg.Concurrency(),
			MaxRetries:        cfg.MaxRetries,
			RetryBackoff:      cfg.RetryBackoff,
			MaxRetryBackoff:   cfg.MaxRetryBackoff,
			ShutdownTimeout:   max(cfg.ShutdownTimeout, time.Nanosecond), // SHUTDOWN_TIMEOUT=0: no drain, as for cron (the router reads 0 as 30s)
			ExitWhenFinished:  cfg.Consume.ExitWhenFinished,
			WaitTime:          cfg.Consume.ListenInterval,
			VisibilityTimeout: cfg.Consume.VisibilityTimeout,
			Logger:            log.With("component", "router"),
			Metrics:           m,
			Reporter:          rep,
		})
	case rococo.CronProcessor:
		r, err = cron.New(cfg.Cron, p, cron.Options{
			Logger:          log.With("component", "cron"),
			Metrics:         m,
			Reporter:        rep,
			Location:        cfg.Location,
			ShutdownTimeout: cfg.ShutdownTimeout,
		})
	}
	if err != nil {
		log.Error("create "+strings.ToLower(cfg.ExecutionType)+" runner", "error", err)
		return 1
	}
	s.runner.Store(r)
	s.state.Store(stateRunning)
	stop := context.AfterFunc(ctx, func() {
		s.state.Store(stateStopping)
		log.Info("stopping", "shutdown_timeout", cfg.ShutdownTimeout)
	})
	defer stop()
	run := r.Run
	if s.once {
		run = r.(*cron.Scheduler).RunOnce // checked in run: --once comes with a cron processor
	}
	if err := run(ctx); err != nil {
		log.Error("run failed", "error", err)
		return 1
	}
	s.state.Store(stateStopping)
	return 0
}

// startHealth listens and serves the health endpoints; the returned func
// shuts the server down and returns a serve error, if any. A serve failure
// cancels the run through cancelRun.
func (s *service) startHealth(reg *prometheus.Registry, cancelRun context.CancelFunc) (func() error, error) {
	addr := s.cfg.HealthAddr
	if addr == "" {
		addr = fmt.Sprintf(":%d", s.cfg.HealthPort)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler: health.Handler(health.Options{
			Gatherer: reg,
			Ready:    s.ready,
			Status:   s.status,
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		} else {
			s.log.Error("health server stopped", "error", err)
			cancelRun()
		}
		served <- err
	}()
	s.log.Info("health server listening", "addr", ln.Addr().String())
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), httpShutdown)
		defer cancel()
		shutErr := srv.Shutdown(ctx)
		return errors.Join(<-served, shutErr)
	}, nil
}

// ready backs /readyz: nil while the router consumes or the scheduler runs.
func (s *service) ready() error {
	if st := s.state.Load().(string); st != stateRunning {
		return fmt.Errorf("service %s", st)
	}
	r, _ := s.runner.Load().(runner)
	if r == nil {
		return errors.New("service starting")
	}
	return r.Ready()
}

// status backs /status.
func (s *service) status() health.Status {
	return health.Status{
		Service:       s.name,
		Version:       s.info.Version,
		Commit:        s.info.Commit,
		Started:       s.started,
		State:         s.state.Load().(string),
		ExecutionType: s.cfg.ExecutionType,
		Processor:     s.cfg.ProcessorType,
		Queue:         s.cfg.QueueName,
	}
}

// pick returns the processor named by PROCESSOR_TYPE, checking that it is of
// the kind EXECUTION_TYPE needs. Errors are *config.Error.
func pick(cfg *config.Config, procs []any) (any, error) {
	byName := map[string]any{}
	var msgNames, cronNames []string
	for _, p := range procs {
		name := typeName(p)
		switch p.(type) {
		case rococo.MessageProcessor:
			msgNames = append(msgNames, name)
		case rococo.CronProcessor:
			cronNames = append(cronNames, name)
		default:
			if t := reflect.TypeOf(p); t != nil && t.Kind() != reflect.Pointer {
				ptr := reflect.New(t).Interface()
				_, m := ptr.(rococo.MessageProcessor)
				_, c := ptr.(rococo.CronProcessor)
				if m || c {
					return nil, fmt.Errorf("processor %T has Process on its pointer: pass &%s{}", p, t.Name())
				}
			}
			return nil, fmt.Errorf("processor %T implements neither rococo.MessageProcessor nor rococo.CronProcessor", p)
		}
		if name == "" {
			return nil, fmt.Errorf("processor %T has no type name for PROCESSOR_TYPE to pick", p)
		}
		if _, dup := byName[name]; dup {
			return nil, fmt.Errorf("two processors are named %s; PROCESSOR_TYPE needs distinct type names", name)
		}
		byName[name] = p
	}
	p, ok := byName[cfg.ProcessorType]
	if !ok {
		all := slices.Sorted(maps.Keys(byName))
		return nil, &config.Error{Var: "PROCESSOR_TYPE", Value: cfg.ProcessorType, Accepted: "a processor of this service: " + listOr(all)}
	}
	switch cfg.ExecutionType {
	case config.Messaging:
		if _, ok := p.(rococo.MessageProcessor); !ok {
			return nil, &config.Error{Var: "PROCESSOR_TYPE", Value: cfg.ProcessorType, Accepted: fmt.Sprintf(
				"a message processor (Process(ctx, *rococo.Message) error) for EXECUTION_TYPE=MESSAGING, %s is a cron processor; message processors of this service: %s, or set EXECUTION_TYPE=CRON",
				cfg.ProcessorType, listOr(sorted(msgNames)))}
		}
	case config.Cron:
		if _, ok := p.(rococo.CronProcessor); !ok {
			return nil, &config.Error{Var: "PROCESSOR_TYPE", Value: cfg.ProcessorType, Accepted: fmt.Sprintf(
				"a cron processor (Process(ctx) error) for EXECUTION_TYPE=CRON, %s is a message processor; cron processors of this service: %s, or set EXECUTION_TYPE=MESSAGING",
				cfg.ProcessorType, listOr(sorted(cronNames)))}
		}
	}
	return p, nil
}

// typeName is the processor's Go type name without pointers, as Python picks
// the processor class by name.
func typeName(p any) string {
	t := reflect.TypeOf(p)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return ""
	}
	return t.Name()
}

func listOr(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

// levelCritical is Python's CRITICAL, above slog's Error.
const levelCritical = slog.LevelError + 4

// newLogger returns the service logger: text in development, JSON in
// production or with LOG_FORMAT=json, at the level of LOGLEVEL/APP_ENV.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{
		Level: cfg.Level(),
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.LevelKey {
				if l, ok := a.Value.Any().(slog.Level); ok && l >= levelCritical {
					a.Value = slog.StringValue("CRITICAL")
				}
			}
			return a
		},
	}
	if cfg.JSONLogs() {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// exportDotenv sets the variables that came from .env or .env.local in the
// process environment, leaving variables already set alone.
func exportDotenv(cfg *config.Config) {
	for _, kv := range cfg.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, v)
		}
	}
}

func closeLogged(log *slog.Logger, what string, c io.Closer) {
	if err := c.Close(); err != nil {
		log.Error("close "+what, "error", err)
	}
}
