package leader

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// ErrHeld is returned by Lock.TryAcquire when another process holds the
// lock.
var ErrHeld = errors.New("leader: the lock is held by another process")

// ErrNotLeader is returned by Guard's check when the lease is gone.
var ErrNotLeader = errors.New("leader: this process no longer holds the lock")

// Lock is a mutual exclusion shared by the replicas of a service.
// Implementations must be safe for concurrent use.
type Lock interface {
	// TryAcquire tries once to take the lock, within ctx. It returns a
	// Lease when this process now holds it, an error wrapping ErrHeld when
	// another one does, and another error when the lock cannot be reached
	// (the broker is down): the caller retries later in both cases.
	TryAcquire(ctx context.Context) (Lease, error)
	// String names the lock in logs (such as the queue's name).
	String() string
}

// Lease is a held lock.
type Lease interface {
	// Lost is closed when the lock is lost: the connection that holds it
	// closed, or Release was called.
	Lost() <-chan struct{}
	// Check confirms, within ctx, that the lock is still held (one round
	// trip); an error means it may not be.
	Check(ctx context.Context) error
	// Release gives the lock up. It may be called more than once.
	Release() error
}

// Locker is implemented by what can make a Lock, such as a transport's
// configuration (rabbitmq.FromEnv's).
type Locker interface {
	// Lock returns the lock called name; it connects to nothing until
	// TryAcquire.
	Lock(name string, log *slog.Logger) (Lock, error)
}

// DefaultRetryInterval is how often a standby tries to take the lock.
const DefaultRetryInterval = 2 * time.Second

// Options tune Run. The zero value works.
type Options struct {
	// RetryInterval is how long a standby waits between attempts to take
	// the lock. The default value is DefaultRetryInterval.
	RetryInterval time.Duration
	// Logger receives one line per change of role; nil discards them.
	Logger *slog.Logger
	// OnChange, if set, is called with true when this process starts to
	// lead and with false when it stops.
	OnChange func(leading bool)
}

// Run blocks until ctx is done, leading whenever it holds the lock: it
// tries to take lock every RetryInterval; once it holds it, it calls lead
// with a ctx that is cancelled when the lease is lost or ctx is done, and
// with the lease (for Guard). When lead returns because the lease was lost,
// Run goes back to standing by; when it returns for another reason, Run
// releases the lock and returns lead's error. Run returns nil when ctx
// ends.
func Run(ctx context.Context, lock Lock, o Options, lead func(ctx context.Context, lease Lease) error) error {
	if o.RetryInterval <= 0 {
		o.RetryInterval = DefaultRetryInterval
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("lock", lock.String())
	var lastErr string
	for {
		lease, err := lock.TryAcquire(ctx)
		switch {
		case err == nil:
			lastErr = ""
			lost, err := term(ctx, lease, log, o, lead)
			if ctx.Err() != nil {
				return nil
			}
			if !lost {
				return err
			}
			log.Warn("lost the lead; standing by", "error", err)
		case errors.Is(err, ErrHeld):
			if lastErr != ErrHeld.Error() {
				log.Info("standing by: another replica leads", "retry_interval", o.RetryInterval)
				lastErr = ErrHeld.Error()
			}
		default:
			if ctx.Err() != nil {
				return nil
			}
			if err.Error() != lastErr {
				log.Warn("cannot reach the lock; retrying", "error", err, "retry_interval", o.RetryInterval)
				lastErr = err.Error()
			}
		}
		t := time.NewTimer(o.RetryInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// term runs one term of leadership; lost reports whether it ended because
// the lease was lost.
func term(ctx context.Context, lease Lease, log *slog.Logger, o Options, lead func(context.Context, Lease) error) (lost bool, err error) {
	log.Info("leading: this replica runs the work")
	if o.OnChange != nil {
		o.OnChange(true)
		defer o.OnChange(false)
	}
	termCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lease.Lost():
			cancel()
		case <-termCtx.Done():
		}
	}()
	err = lead(termCtx, lease)
	select {
	case <-lease.Lost():
		lost = true
	default:
	}
	if rerr := lease.Release(); rerr != nil && !lost {
		log.Warn("release the lock", "error", rerr)
	}
	return lost, err
}

// CheckTimeout bounds Guard's check of the lease.
const CheckTimeout = 5 * time.Second

// Guard returns a check to call before each run of the work: it confirms
// the lease within CheckTimeout and returns an error wrapping ErrNotLeader
// when it cannot, after releasing the lease (which cancels the term).
func Guard(lease Lease) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
		defer cancel()
		if err := lease.Check(ctx); err != nil {
			_ = lease.Release()
			return errors.Join(ErrNotLeader, err)
		}
		return nil
	}
}
