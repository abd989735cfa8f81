// Package crontest provides a fake cron.Clock for tests: time stands still
// until the test advances it.
package crontest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rococo-go/rococo/rococo/cron"
)

// Clock is a fake cron.Clock. Its zero value is not usable; call NewClock.
// It is safe for concurrent use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*timer
	changed chan struct{} // closed and replaced whenever a timer is added
}

var _ cron.Clock = (*Clock)(nil)

// NewClock returns a fake clock set to now.
func NewClock(now time.Time) *Clock {
	return &Clock{now: now, changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the clock is advanced to d from
// now (at once when d <= 0).
func (c *Clock) NewTimer(d time.Duration) cron.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{c: make(chan time.Time, 1), at: c.now.Add(d), clock: c}
	if d <= 0 {
		t.c <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	close(c.changed)
	c.changed = make(chan struct{})
	return t
}

// Advance moves the clock forward by d and fires every timer due by then,
// in order of their fire times.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	var due []*timer
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			due = append(due, t)
		} else {
			kept = append(kept, t)
		}
	}
	c.timers = kept
	for _, t := range due {
		t.c <- t.at
	}
}

// Set moves the clock forward to t (see Advance); t before the current time
// is an error.
func (c *Clock) Set(t time.Time) error {
	now := c.Now()
	if t.Before(now) {
		return fmt.Errorf("crontest: Set(%v) is before the current time %v", t, now)
	}
	c.Advance(t.Sub(now))
	return nil
}

// Timers returns the number of timers waiting to fire.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Next returns the fire time of the earliest waiting timer, or false when
// none waits.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best time.Time
	for _, t := range c.timers {
		if best.IsZero() || t.at.Before(best) {
			best = t.at
		}
	}
	return best, !best.IsZero()
}

// WaitForTimers blocks until at least n timers wait to fire, or ctx ends.
func (c *Clock) WaitForTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		got, changed := len(c.timers), c.changed
		c.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("crontest: waiting for %d timers, have %d: %w", n, got, ctx.Err())
		case <-changed:
		}
	}
}

type timer struct {
	c     chan time.Time
	at    time.Time
	clock *Clock
}

func (t *timer) C() <-chan time.Time { return t.c }

func (t *timer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, w := range c.timers {
		if w == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}
