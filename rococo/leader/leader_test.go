package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/rococotest"
)

// memLock is a Lock shared in memory by the "replicas" of a test.
type memLock struct {
	mu      sync.Mutex
	holder  *memLease
	down    error // TryAcquire fails with it while set
	checkEr error // Check fails with it while set
}

type memLease struct {
	l    *memLock
	lost chan struct{}
	once sync.Once
}

func (l *memLock) String() string { return "mem" }

func (l *memLock) TryAcquire(ctx context.Context) (Lease, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down != nil {
		return nil, l.down
	}
	if l.holder != nil {
		return nil, fmt.Errorf("mem: %w", ErrHeld)
	}
	l.holder = &memLease{l: l, lost: make(chan struct{})}
	return l.holder, nil
}

// drop makes the holder lose the lock, as a closed connection does.
func (l *memLock) drop() {
	l.mu.Lock()
	h := l.holder
	l.mu.Unlock()
	if h != nil {
		_ = h.Release()
	}
}

func (e *memLease) Lost() <-chan struct{} { return e.lost }

func (e *memLease) Check(context.Context) error {
	e.l.mu.Lock()
	defer e.l.mu.Unlock()
	if e.l.checkEr != nil {
		return e.l.checkEr
	}
	if e.l.holder != e {
		return errors.New("not the holder")
	}
	return nil
}

func (e *memLease) Release() error {
	e.once.Do(func() {
		e.l.mu.Lock()
		if e.l.holder == e {
			e.l.holder = nil
		}
		e.l.mu.Unlock()
		close(e.lost)
	})
	return nil
}

// replica runs Run on lock until stopped; leading tells whether it leads.
type replica struct {
	leading atomic.Bool
	terms   atomic.Int32
	stop    context.CancelFunc
	done    chan error
}

func startReplica(t *testing.T, lock Lock, log *slog.Logger) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{stop: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- Run(ctx, lock, Options{RetryInterval: 10 * time.Millisecond, Logger: log, OnChange: r.leading.Store}, func(ctx context.Context, _ Lease) error {
			r.terms.Add(1)
			<-ctx.Done()
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for deadline := start.Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return time.Since(start)
		}
	}
	t.Fatalf("%s: not within 5s", what)
	return 0
}

func TestRun_one_replica_leads_and_the_other_takes_over(t *testing.T) {
	lock := &memLock{}
	var logs rococotest.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a := startReplica(t, lock, log)
	waitFor(t, "a leads", a.leading.Load)
	b := startReplica(t, lock, log)
	time.Sleep(50 * time.Millisecond) // five of b's attempts
	if b.leading.Load() || b.terms.Load() != 0 {
		t.Fatal("b leads while a holds the lock")
	}
	lock.drop()
	took := waitFor(t, "one of them leads again", func() bool { return a.leading.Load() != b.leading.Load() && (a.terms.Load()+b.terms.Load()) == 2 })
	if took > time.Second {
		t.Errorf("takeover took %v, want about the retry interval (10ms)", took)
	}
	if !strings.Contains(logs.String(), "lost the lead; standing by") || !strings.Contains(logs.String(), "standing by: another replica leads") {
		t.Errorf("logs = %q, want the role changes", logs.String())
	}
}

func TestRun_returns_nil_when_ctx_ends_and_releases(t *testing.T) {
	lock := &memLock{}
	r := startReplica(t, lock, nil)
	waitFor(t, "leads", r.leading.Load)
	r.stop()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
		r.done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if lock.holder != nil || r.leading.Load() {
		t.Error("the lock is still held after Run returned")
	}
}

func TestRun_returns_leads_error_and_retries_an_unreachable_lock(t *testing.T) {
	lock := &memLock{down: errors.New("broker down")}
	var logs rococotest.Buffer
	boom := errors.New("boom")
	var attempts atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), countingLock{lock, &attempts}, Options{RetryInterval: 5 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, func(context.Context, Lease) error {
			return boom
		})
	}()
	waitFor(t, "three attempts", func() bool { return attempts.Load() >= 3 })
	lock.mu.Lock()
	lock.down = nil
	lock.mu.Unlock()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Errorf("Run() = %v, want lead's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return lead's error")
	}
	if n := strings.Count(logs.String(), "cannot reach the lock"); n != 1 {
		t.Errorf("logged the unreachable lock %d times, want once per cause: %q", n, logs.String())
	}
	if lock.holder != nil {
		t.Error("the lock is still held")
	}
}

type countingLock struct {
	*memLock
	n *atomic.Int32
}

func (c countingLock) TryAcquire(ctx context.Context) (Lease, error) {
	c.n.Add(1)
	return c.memLock.TryAcquire(ctx)
}

func TestGuard_releases_a_lease_it_cannot_confirm(t *testing.T) {
	lock := &memLock{}
	lease, err := lock.TryAcquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	check := Guard(lease)
	if err := check(context.Background()); err != nil {
		t.Fatalf("check() = %v, want nil while held", err)
	}
	lock.checkEr = errors.New("connection timed out")
	if err := check(context.Background()); !errors.Is(err, ErrNotLeader) {
		t.Errorf("check() = %v, want ErrNotLeader", err)
	}
	select {
	case <-lease.Lost():
	default:
		t.Error("the lease is not released after a failed check")
	}
}
