package host

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

func (o options) run(ctx context.Context, args, environ []string, info Info, procs ...any) int {
	name := info.Name
	if name == "" && len(args) > 0 {
		name = filepath.Base(args[0])
	}
	once, check := false, false
	if len(args) > 1 {
		switch {
		case len(args) == 2 && (args[1] == "-version" || args[1] == "--version"):
			o.banner(name, info)
			return 0
		case len(args) == 2 && (args[1] == "-once" || args[1] == "--once"):
			once = true
		case len(args) == 2 && (args[1] == "-check" || args[1] == "--check"):
			check = true
		default:
			fmt.Fprintf(o.stderr, "usage: %s [--version | --once | --check]: the service takes its configuration from the environment (see docs/environment.md), not from arguments %q\n", name, args[1:])
			return 2
		}
	}

	// Everything that can be wrong with the environment or the processor
	// list fails here, before anything connects.
	fns, procs, err := splitBand(procs)
	if err != nil {
		return o.usage(err)
	}
	if err := checkProcessorType(environ, o.dir, procs); err != nil {
		return o.usage(err)
	}
	cfg, err := config.Load(environ, o.dir)
	if err != nil {
		return o.usage(err)
	}
	var proc any
	if cfg.ExecutionType != config.Band {
		if proc, err = pick(cfg.ExecutionType, cfg.ProcessorType, procs); err != nil {
			return o.usage(err)
		}
	}
	if _, cron := proc.(rococo.CronProcessor); once && !cron {
		if proc == nil {
			fmt.Fprintln(o.stderr, "--once runs a cron processor once, and EXECUTION_TYPE=BAND has none: run the service without --once")
		} else {
			fmt.Fprintf(o.stderr, "--once runs a cron processor once, and %s is a messaging processor: to consume until the queue is empty, set EXIT_WHEN_FINISHED=1 in the CONSUME_CONFIG_FILE_PATH file\n", cfg.ProcessorType)
		}
		return 2
	}
	tcfg, err := transportConfig(cfg, info)
	if err != nil {
		return o.usage(err)
	}
	setup, err := configureBand(fns, cfg, o.dir, &name)
	if err != nil {
		return o.usage(err)
	}
	if check {
		fmt.Fprintln(o.stdout, checkLine(name, cfg))
		return 0
	}

	log := newLogger(cfg, o.stderr)
	if o.global {
		slog.SetDefault(log)
		exportDotenv(cfg)
	}
	o.banner(name, info)
	attrs := []any{"service", name, "version", info.Version, "commit", info.Commit, "host_version", Version, "config", cfg}
	if tcfg != nil {
		attrs = append(attrs, "transport", tcfg)
	}
	log.Info("starting", attrs...)
	if fns != nil {
		logBandSetup(log, setup)
	}

	s := &service{cfg: cfg, info: info, name: name, log: log, started: time.Now(), instance: instanceID(), once: once, stderr: o.stderr, fns: fns}
	s.state.Store(stateStarting)
	code := s.serve(ctx, proc, tcfg)
	s.state.Store(stateStopped)
	log.Info("exiting", "status", code)
	return code
}

// transportConfig returns the configuration of the MESSAGING_TYPE's
// transport, nil when MESSAGING_TYPE is unset (a cron service without a
// broker). Errors are *config.Error.
func transportConfig(cfg *config.Config, info Info) (rococo.TransportConfig, error) {
	if cfg.MessagingType == "" {
		return nil, nil
	}
	factory := info.Transports[cfg.MessagingType]
	if factory == nil {
		return nil, &config.Error{Var: "MESSAGING_TYPE", Value: cfg.MessagingType, Accepted: "a transport linked into this service: " + listOr(slices.Sorted(maps.Keys(info.Transports)))}
	}
	return factory(cfg)
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
