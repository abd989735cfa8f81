package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/health"
)

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
	var h http.Handler = health.Handler(health.Options{
		Gatherer: reg,
		Ready:    s.ready,
		Status:   s.status,
	})
	base := context.Background()
	if s.band != nil {
		// The band functions' handlers share the port; their requests'
		// ctx is cancelled at the shutdown deadline.
		h, base = s.band.Handler(h), s.band.BaseContext()
	}
	srv := &http.Server{
		Handler:           h,
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
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
	st := health.Status{
		Service:       s.name,
		Instance:      s.instance,
		Version:       s.info.Version,
		Commit:        s.info.Commit,
		Started:       s.started,
		State:         s.state.Load().(string),
		ExecutionType: s.cfg.ExecutionType,
		Processor:     s.cfg.ProcessorType,
		Queue:         s.cfg.QueueName,
	}
	if s.band != nil {
		st.Functions = s.band.Functions()
		if s.cfg.ExecutionType == config.Band {
			st.State, st.Processor = s.band.State(), ""
		}
	}
	return st
}

// instanceID names this process among the replicas of its service: the
// host name (a pod's name on Kubernetes), the process id and a random
// suffix, so that two processes on one host differ too.
func instanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), rand.Text()[:8])
}
