package host

import (
	"strings"

	"github.com/rococo-go/rococo/rococo/config"
)

// checkProcessorType checks PROCESSOR_TYPE against the service's processors
// before the configuration is validated, so that a wrong processor name is
// reported as such and not as a missing <PROCESSOR_TYPE>_QUEUE_NAME (a
// variable named after it). An unset PROCESSOR_TYPE, or an EXECUTION_TYPE
// that picks no processor (BAND) or is invalid, is left to config.Load,
// which reports it.
func checkProcessorType(environ []string, dir string, procs []any) error {
	env, err := config.Merged(environ, dir)
	if err != nil {
		return err
	}
	pt := env.Get("PROCESSOR_TYPE")
	et := env.Get("EXECUTION_TYPE")
	if et == "" {
		et = config.Messaging
	}
	if pt == "" || (et != config.Messaging && et != config.Cron) {
		return nil
	}
	_, err = pick(et, pt, procs)
	return err
}

// CheckOK begins the line --check prints for a valid configuration, and
// nothing else prints it: the generated :check_test requires it, so a
// binary that never runs the host (a main without common.Main, which
// ignores --check and exits 0) fails the test.
const CheckOK = "check: ok: "

// checkLine is the line --check prints for a valid configuration.
func checkLine(name string, cfg *config.Config) string {
	return CheckOK + name + ": configuration OK (" + checkSummary(cfg) + ")"
}

// checkSummary describes a valid configuration in one line for --check.
func checkSummary(cfg *config.Config) string {
	parts := []string{"EXECUTION_TYPE=" + cfg.ExecutionType}
	if cfg.ProcessorType != "" {
		parts = append(parts, "PROCESSOR_TYPE="+cfg.ProcessorType)
	}
	if cfg.MessagingType != "" {
		parts = append(parts, "MESSAGING_TYPE="+cfg.MessagingType)
	}
	if cfg.QueueName != "" {
		parts = append(parts, "queue "+cfg.QueueName)
	}
	return strings.Join(parts, ", ") + "; nothing connected"
}
