package band

import (
	"context"
	"sync"
	"sync/atomic"
)

// tracker counts the requests in flight and tells when the last one is done
// once draining began. enter, add and leave are lock-free.
type tracker struct {
	n        atomic.Int64
	draining atomic.Bool
	once     sync.Once
	idle     chan struct{} // closed once draining and nothing is in flight

	mu      sync.Mutex
	drained bool
	stops   []func() // called by drain: what feeds this tracker stops
}

func newTracker() *tracker { return &tracker{idle: make(chan struct{})} }

// enter counts a new request; false (counting nothing) once draining.
func (t *tracker) enter() bool {
	t.n.Add(1)
	if t.draining.Load() {
		t.leave()
		return false
	}
	return true
}

// add counts more work of a request already entered (a handler's own
// goroutine).
func (t *tracker) add() { t.n.Add(1) }

func (t *tracker) leave() {
	if t.n.Add(-1) == 0 && t.draining.Load() {
		t.once.Do(func() { close(t.idle) })
	}
}

// drain refuses new requests from now on, and calls the funcs given to
// onDrain.
func (t *tracker) drain() {
	t.draining.Store(true)
	if t.n.Load() == 0 {
		t.once.Do(func() { close(t.idle) })
	}
	t.mu.Lock()
	stops := t.stops
	t.drained, t.stops = true, nil
	t.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
}

// onDrain has drain call stop; false (keeping nothing) when drain was
// called already.
func (t *tracker) onDrain(stop func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.drained {
		return false
	}
	t.stops = append(t.stops, stop)
	return true
}

// wait waits until nothing is in flight after drain, or ctx is done; it
// reports whether nothing is.
func (t *tracker) wait(ctx context.Context) bool {
	select {
	case <-t.idle:
		return true
	case <-ctx.Done():
		return false
	}
}
