package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/config"
)

// A Band service (package rococo/band) is passed to Main among the
// processors. With EXECUTION_TYPE=BAND it is the whole service; with
// MESSAGING or CRON its functions run next to the processor: handlers on
// the health port, workers and scheduled functions alongside, cleanups
// after the processor's work drained (a queue consumer with an admin
// endpoint). --once runs the cron processor alone.

// splitBand returns the band service among procs (nil when there is none)
// and the other procs.
func splitBand(procs []any) (*band.Service, []any, error) {
	var fns *band.Service
	rest := make([]any, 0, len(procs))
	for _, p := range procs {
		s, ok := p.(*band.Service)
		if !ok {
			rest = append(rest, p)
			continue
		}
		if fns != nil {
			return nil, nil, errors.New("two band services were passed to Main: register every function on one band.New()")
		}
		fns = s
	}
	return fns, rest, nil
}

// configureBand checks the band service's registrations and loads its
// settings, before anything starts; errors are configuration errors (exit
// 2). It applies the settings' name and listen keys (environment
// variables win over listen, as everywhere).
func configureBand(fns *band.Service, cfg *config.Config, dir string, name *string) (band.Setup, error) {
	if fns == nil {
		if cfg.ExecutionType == config.Band {
			return band.Setup{}, errors.New("EXECUTION_TYPE=BAND runs a band service, and none was passed to Main: call common.Main(s) with s := band.New(...)")
		}
		return band.Setup{}, nil
	}
	setup, err := fns.Configure(*name, dir, cfg.Env())
	if err != nil {
		return band.Setup{}, err
	}
	if setup.Name != "" {
		*name = setup.Name
	}
	env := cfg.Env()
	if setup.Listen != "" && env.Get("HEALTH_ADDR") == "" && env.Get("HEALTH_PORT") == "" {
		cfg.HealthAddr = setup.Listen
	}
	if setup.Handlers > 0 && cfg.HealthAddr == "" && cfg.HealthPort == 0 {
		return band.Setup{}, &config.Error{Var: "HEALTH_PORT", Value: "0", Accepted: fmt.Sprintf("a port number 1-65535: the service's %d handler(s) are served on it (0 turns it off)", setup.Handlers)}
	}
	return setup, nil
}

// startBand builds the band runner, before the HTTP server starts (it
// serves the runner's handlers).
func (s *service) startBand(d deps) error {
	if s.fns == nil || s.once {
		return nil
	}
	r, err := s.fns.Runner(band.Runtime{
		Logger:          s.log.With("component", "band"),
		Registerer:      d.registry,
		Reporter:        d.reporter,
		Location:        s.cfg.Location,
		ShutdownTimeout: s.cfg.ShutdownTimeout,
	})
	if err != nil {
		return err
	}
	s.band = r
	return nil
}

// bandRunner runs the band functions, alone (inner is nil:
// EXECUTION_TYPE=BAND) or next to the processor's runner, and serves them
// over the bus when the service has one.
type bandRunner struct {
	inner   runner
	fns     *band.Runner
	timeout time.Duration // SHUTDOWN_TIMEOUT, shared by the drain of both
	service string        // the name the functions are served under on the bus
}

// withBand wraps the execution type's runner (nil for BAND) when the
// service has band functions.
func (s *service) withBand(r runner) runner {
	if s.band == nil {
		return r
	}
	return &bandRunner{inner: r, fns: s.band, timeout: s.cfg.ShutdownTimeout, service: s.name}
}

// Run starts the functions and serves them over the bus, runs the
// processor (or waits for ctx), then shuts the functions down: intake
// stops when ctx is cancelled, and requests, calls, workers and cleanups
// get what is left of SHUTDOWN_TIMEOUT after the processor's drain. The
// calls over the bus are not stopped by ctx but by the shutdown, once the
// requests on the port are done; a failure to serve them stops the
// service.
func (b *bandRunner) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.fns.Start(ctx)
	served := make(chan error, 1)
	go func() {
		err := b.fns.ServeBus(context.WithoutCancel(ctx), b.service) // nil at once without a bus
		if err != nil {
			cancel()
		}
		served <- err
	}()
	var stoppedAt atomic.Int64
	stop := context.AfterFunc(ctx, func() {
		stoppedAt.CompareAndSwap(0, time.Now().UnixNano())
		b.fns.StopIntake()
	})
	defer stop()
	var err error
	if b.inner != nil {
		err = b.inner.Run(ctx)
	} else {
		<-ctx.Done()
	}
	stoppedAt.CompareAndSwap(0, time.Now().UnixNano()) // EXIT_WHEN_FINISHED, or a runner error
	deadline := time.Unix(0, stoppedAt.Load()).Add(b.timeout)
	sctx, cancelShutdown := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancelShutdown()
	err = errors.Join(err, b.fns.Shutdown(sctx))
	return errors.Join(err, <-served)
}

// Ready is nil when the processor's runner (if any) and the functions are
// ready.
func (b *bandRunner) Ready() error {
	if b.inner != nil {
		if err := b.inner.Ready(); err != nil {
			return err
		}
	}
	return b.fns.Ready()
}

// logBandSetup logs what the band service's settings are, secrets masked.
func logBandSetup(log *slog.Logger, setup band.Setup) {
	if len(setup.Files) == 0 {
		log.Info("band settings: no config.yaml or custom.yaml in the working directory; the settings keep their defaults")
		return
	}
	log.Info("band settings loaded", "files", setup.Files, "settings", setup.Settings)
}
