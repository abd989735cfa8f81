package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/leader"
	"github.com/rococo-go/rococo/rococo/metrics"
	"github.com/rococo-go/rococo/rococo/report"
)

// runner is what an execution type runs: a router.Router (messaging.go), a
// cron.Scheduler (cron.go), or either with band functions, or those alone
// (band.go).
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

// service is one run of the host, past configuration.
type service struct {
	cfg      *config.Config
	info     Info
	name     string
	log      *slog.Logger
	stderr   io.Writer // for a configuration error found at run time
	started  time.Time
	instance string       // this process among the service's replicas, in /status
	once     bool         // --once: run the cron processor once instead of its schedule
	state    atomic.Value // string
	runner   atomic.Value // runner, once built
	fns      *band.Service
	band     *band.Runner // the functions' runner, nil without fns (or with --once)
}

// deps are what the service gives the runner it builds.
type deps struct {
	transport   rococo.Transport // nil without MESSAGING_TYPE
	concurrency int              // the transport's (1 without one)
	locker      leader.Locker    // the transport's lock for leader election, if it has one
	metrics     *metrics.Metrics
	registry    *prometheus.Registry
	reporter    report.Reporter
}

func (s *service) serve(ctx context.Context, proc any, tcfg rococo.TransportConfig) int {
	cfg, log := s.cfg, s.log
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rep := report.NewRollbar(cfg.RollbarToken.Reveal(), cfg.AppEnv, s.name, s.info.Version, report.WithLogger(log.With("component", "rollbar")),
		report.WithCloseTimeout(cfg.ShutdownTimeout))
	if c, ok := rep.(io.Closer); ok {
		defer closeLogged(log, "rollbar reporter", c)
	}

	// Runs end when ctx is cancelled (a signal) or the health server dies.
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()

	d := deps{concurrency: 1, metrics: metrics.New(reg), registry: reg, reporter: rep}
	if err := s.startBand(d); err != nil {
		return s.failed("create band runner", err)
	}
	var stopHealth func() error
	if cfg.HealthAddr != "" || cfg.HealthPort != 0 {
		var err error
		if stopHealth, err = s.startHealth(reg, cancelRun); err != nil {
			log.Error("start health server", "error", err)
			return 1
		}
	}
	code := s.work(runCtx, proc, tcfg, d)
	if stopHealth != nil {
		if err := stopHealth(); err != nil {
			log.Error("health server failed", "error", err)
			code = 1
		}
	}
	return code
}

// work opens the transport, initialises the processor and runs it until ctx
// ends.
func (s *service) work(ctx context.Context, proc any, tcfg rococo.TransportConfig, d deps) int {
	cfg, log := s.cfg, s.log
	if tcfg != nil {
		tr, err := tcfg.Open(ctx, log.With("component", "transport"))
		if err != nil {
			return s.failed("open transport", err, "messaging_type", cfg.MessagingType)
		}
		defer closeLogged(log, "transport", tr)
		d.transport, d.concurrency = tr, tcfg.Concurrency()
		if b, ok := tr.(metrics.BlockReporter); ok {
			if err := metrics.RegisterBrokerBlocked(d.registry, b); err != nil {
				return s.failed("register metrics", err)
			}
		}
		d.locker, _ = tcfg.(leader.Locker)
		if s.band != nil {
			s.band.SetPublisher(tr)
		}
	}
	if c, ok := proc.(io.Closer); ok {
		defer closeLogged(log, "processor "+cfg.ProcessorType, c)
	}
	if in, ok := proc.(rococo.Initializer); ok {
		rt := rococo.Runtime{Logger: log}
		if d.transport != nil {
			rt.Publisher = d.transport
		}
		if err := in.Init(ctx, rt); err != nil {
			return s.failed("initialise processor", err, "processor", cfg.ProcessorType)
		}
	}

	var extra []runner
	if s.band != nil {
		b, runners, err := s.openBus(ctx, tcfg, d)
		if err != nil {
			return s.failed("open the band bus", err)
		}
		if b != nil {
			defer closeBus(log, b)
			s.band.SetBus(b)
			extra = runners
		}
	}

	var r runner
	var err error
	switch p := proc.(type) {
	case rococo.MessageProcessor:
		r, err = s.messagingRunner(p, d)
	case rococo.CronProcessor:
		r, err = s.cronRunner(p, d)
	}
	if err != nil {
		return s.failed("create "+strings.ToLower(cfg.ExecutionType)+" runner", err)
	}
	if len(extra) > 0 {
		if r != nil {
			extra = append(group{r}, extra...)
		}
		r = group(extra)
	}
	r = s.withBand(r)
	s.runner.Store(r)
	s.state.Store(stateRunning)
	logged := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(logged)
		s.state.Store(stateStopping)
		log.Info("stopping", "shutdown_timeout", cfg.ShutdownTimeout)
	})
	defer func() {
		if !stop() {
			<-logged // it ran: nothing logs after the run returned
		}
	}()
	run := r.Run
	if s.once {
		run = onceRunner(r)
	}
	if err := run(ctx); err != nil {
		return s.failed("run", err)
	}
	s.state.Store(stateStopping)
	return 0
}

// failed logs a failure of step and returns the exit status: 2 with one line
// on stderr when the cause is a configuration value (a *config.Error from
// the processor's own settings in Init, or a setting the broker refused,
// such as an unknown virtual host), else 1.
func (s *service) failed(step string, err error, attrs ...any) int {
	var ce *config.Error
	if errors.As(err, &ce) {
		s.log.Error(step+" failed: invalid configuration", append(attrs, "error", err)...)
		fmt.Fprintln(s.stderr, strings.Join(strings.Fields(ce.Error()), " "))
		return 2
	}
	s.log.Error(step+" failed", append(attrs, "error", err)...)
	return 1
}

func closeLogged(log *slog.Logger, what string, c io.Closer) {
	if err := c.Close(); err != nil {
		log.Error("close "+what, "error", err)
	}
}
