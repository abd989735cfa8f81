package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/rabbitmq"
	"github.com/rococo-go/rococo/rococo/sqs"
	"github.com/rococo-go/rococo/tools/internal/processors"
)

// runtimeCheck validates the image's env as the service binary's --check
// does when :check_test runs it (rococo/host's run, with the image's env
// alone): PROCESSOR_TYPE against the processors, then config.Load, then the
// transport's own variables (rabbitmq.FromEnv, sqs.FromEnv, as common.Main
// links them). Without the binary, the processors are those the service
// directory declares (service.Processors); when it declares none (they come
// from another package, or processor.go is broken) that step is left to
// :check_test, as is a Band service's own setup. TestRuntimeCheck_matches_host
// keeps the messages those of rococo/host.
func runtimeCheck(env map[string]string, procs map[string]processors.Kind) error {
	environ := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		environ = append(environ, k+"="+env[k])
	}
	et := env["EXECUTION_TYPE"]
	if et == "" {
		et = config.Messaging
	}
	if pt := env["PROCESSOR_TYPE"]; pt != "" && (et == config.Messaging || et == config.Cron) {
		if err := pickProcessor(et, pt, procs); err != nil {
			return err
		}
	}
	cfg, err := config.Load(environ, "")
	if err != nil {
		return err
	}
	if cfg.ExecutionType != config.Band {
		if err := pickProcessor(cfg.ExecutionType, cfg.ProcessorType, procs); err != nil {
			return err
		}
	}
	switch cfg.MessagingType {
	case config.RabbitMQ:
		_, err = rabbitmq.FromEnv(cfg)
	case config.SQS:
		_, err = sqs.FromEnv(cfg)
	}
	return err
}

// pickProcessor is rococo/host's pick on the processors' names and kinds:
// the same *config.Error for a PROCESSOR_TYPE the service does not have or
// of the wrong kind. No processors known: nil.
func pickProcessor(executionType, processorType string, procs map[string]processors.Kind) error {
	if len(procs) == 0 {
		return nil
	}
	kind, ok := procs[processorType]
	if !ok {
		return &config.Error{Var: "PROCESSOR_TYPE", Value: processorType, Accepted: "a processor of this service: " + listOr(slices.Sorted(maps.Keys(procs)))}
	}
	of := func(k processors.Kind) string {
		var names []string
		for n, pk := range procs {
			if pk == k {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		return listOr(names)
	}
	switch {
	case executionType == config.Messaging && kind != processors.Message:
		return &config.Error{Var: "PROCESSOR_TYPE", Value: processorType, Accepted: fmt.Sprintf(
			"a message processor (Process(ctx, *rococo.Message) error) for EXECUTION_TYPE=MESSAGING, %s is a cron processor; message processors of this service: %s, or set EXECUTION_TYPE=CRON",
			processorType, of(processors.Message))}
	case executionType == config.Cron && kind != processors.Cron:
		return &config.Error{Var: "PROCESSOR_TYPE", Value: processorType, Accepted: fmt.Sprintf(
			"a cron processor (Process(ctx) error) for EXECUTION_TYPE=CRON, %s is a message processor; cron processors of this service: %s, or set EXECUTION_TYPE=MESSAGING",
			processorType, of(processors.Cron))}
	}
	return nil
}

func listOr(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
