package host

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/cron"
	"github.com/rococo-go/rococo/rococo/leader"
)

// Leader election of a CRON service (see package leader): CRON_LEADER_ELECTION
// is "auto" (the default: elect when the transport offers a lock, else run
// and warn that only one replica may run), "required" (refuse to start
// without a lock) or "off" (never elect: one replica only);
// CRON_LEADER_RETRY is how often a standby tries to take the lead.
const (
	electionAuto     = "auto"
	electionRequired = "required"
	electionOff      = "off"
)

// cronRunner returns what runs the service's cron processor
// (EXECUTION_TYPE=CRON): the scheduler, behind leader election when the
// transport offers a lock. --once runs the scheduler alone.
func (s *service) cronRunner(p rococo.CronProcessor, d deps) (runner, error) {
	newScheduler := func(p rococo.CronProcessor) (*cron.Scheduler, error) {
		return cron.New(s.cfg.Cron, p, cron.Options{
			Logger:          s.log.With("component", "cron"),
			Metrics:         d.metrics,
			Reporter:        d.reporter,
			Location:        s.cfg.Location,
			ShutdownTimeout: s.cfg.ShutdownTimeout,
		})
	}
	if s.once {
		return newScheduler(p)
	}
	env := s.cfg.Env()
	mode := env.String("CRON_LEADER_ELECTION", electionAuto)
	retry, err := env.PositiveDuration("CRON_LEADER_RETRY", leader.DefaultRetryInterval)
	if err != nil {
		return nil, err
	}
	switch {
	case mode != electionAuto && mode != electionRequired && mode != electionOff:
		return nil, env.Error("CRON_LEADER_ELECTION", "auto, required or off")
	case mode == electionOff:
		return newScheduler(p)
	case d.locker == nil && mode == electionRequired:
		return nil, env.Error("CRON_LEADER_ELECTION", "auto or off: required needs a lock, and only MESSAGING_TYPE=RabbitMqConnection offers one (an exclusive queue on the broker); set it, or run one replica with CRON_LEADER_ELECTION=off")
	case d.locker == nil:
		s.log.Warn("no leader election: every replica of this service runs every schedule, so run exactly one (set MESSAGING_TYPE=RabbitMqConnection to elect a leader among replicas)")
		return newScheduler(p)
	}
	lockName := s.cfg.QueueNamePrefix + "rococo.leader." + s.name + "." + s.cfg.ProcessorType
	lock, err := d.locker.Lock(lockName, s.log)
	if err != nil {
		return nil, err
	}
	return &electedRunner{proc: p, lock: lock, retry: retry, newScheduler: newScheduler, s: s}, nil
}

// electedRunner runs a scheduler while this replica leads, a new one for
// each term, and stands by otherwise.
type electedRunner struct {
	proc         rococo.CronProcessor
	lock         leader.Lock
	retry        time.Duration
	newScheduler func(rococo.CronProcessor) (*cron.Scheduler, error)
	s            *service
	current      atomic.Pointer[cron.Scheduler]
}

func (r *electedRunner) Run(ctx context.Context) error {
	return leader.Run(ctx, r.lock, leader.Options{RetryInterval: r.retry, Logger: r.s.log.With("component", "leader")},
		func(ctx context.Context, lease leader.Lease) error {
			sch, err := r.newScheduler(guarded{proc: r.proc, check: leader.Guard(lease)})
			if err != nil {
				return err
			}
			r.current.Store(sch)
			defer r.current.Store(nil)
			return sch.Run(ctx)
		})
}

// Ready is the scheduler's readiness while leading; a standby is ready (it
// is doing its job, and a Deployment's rollout waits for ready replicas).
func (r *electedRunner) Ready() error {
	if sch := r.current.Load(); sch != nil {
		return sch.Ready()
	}
	return nil
}

// guarded confirms the lease before each run, so a leader cut off from the
// lock does not start a run beside its successor.
type guarded struct {
	proc  rococo.CronProcessor
	check func(context.Context) error
}

func (g guarded) Process(ctx context.Context) error {
	if err := g.check(ctx); err != nil {
		return err
	}
	return g.proc.Process(ctx)
}

// onceRunner returns the run of --once: one cron run, now. run checked that
// --once comes with a cron processor, and cronRunner returns the scheduler
// itself for it.
func onceRunner(r runner) func(context.Context) error {
	return r.(*cron.Scheduler).RunOnce
}
