package host

import (
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/router"
)

// messagingRunner returns the router that consumes the service's queue
// (EXECUTION_TYPE=MESSAGING).
func (s *service) messagingRunner(p rococo.MessageProcessor, d deps) (runner, error) {
	cfg := s.cfg
	return router.New(d.transport, p, router.Config{
		Queue:            cfg.QueueName,
		Concurrency:      d.concurrency,
		MaxRetries:       cfg.MaxRetries,
		RetryBackoff:     cfg.RetryBackoff,
		MaxRetryBackoff:  cfg.MaxRetryBackoff,
		ShutdownTimeout:  max(cfg.ShutdownTimeout, time.Nanosecond), // SHUTDOWN_TIMEOUT=0: no drain, as for cron (the router reads 0 as 30s)
		ExitWhenFinished: cfg.Consume.ExitWhenFinished,
		Logger:           s.log.With("component", "router"),
		Metrics:          d.metrics,
		Reporter:         d.reporter,
	})
}
