package host

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rococo-go/rococo/rococo/config"
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
