package host

import (
	"context"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/cron"
)

// cronRunner returns the scheduler that runs the service's cron processor
// (EXECUTION_TYPE=CRON).
func (s *service) cronRunner(p rococo.CronProcessor, d deps) (runner, error) {
	return cron.New(s.cfg.Cron, p, cron.Options{
		Logger:          s.log.With("component", "cron"),
		Metrics:         d.metrics,
		Reporter:        d.reporter,
		Location:        s.cfg.Location,
		ShutdownTimeout: s.cfg.ShutdownTimeout,
	})
}

// onceRunner returns the run of --once: one cron run, now. run checked that
// --once comes with a cron processor.
func onceRunner(r runner) func(context.Context) error {
	return r.(*cron.Scheduler).RunOnce
}
