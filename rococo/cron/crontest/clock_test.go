package crontest_test

import (
	"context"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/cron/crontest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fired(c <-chan time.Time) (time.Time, bool) {
	select {
	case v := <-c:
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestClock_fires_timers_when_advanced(t *testing.T) {
	c := crontest.NewClock(t0)
	a := c.NewTimer(time.Minute)
	b := c.NewTimer(2 * time.Minute)
	if next, ok := c.Next(); !ok || !next.Equal(t0.Add(time.Minute)) || c.Timers() != 2 {
		t.Fatalf("Next() = %v %v, Timers() = %d", next, ok, c.Timers())
	}
	c.Advance(59 * time.Second)
	if _, ok := fired(a.C()); ok {
		t.Fatal("timer fired early")
	}
	c.Advance(time.Second)
	if v, ok := fired(a.C()); !ok || !v.Equal(t0.Add(time.Minute)) {
		t.Fatalf("timer a = %v %v, want %v", v, ok, t0.Add(time.Minute))
	}
	if b.Stop() != true || b.Stop() != false || c.Timers() != 0 {
		t.Fatal("Stop() did not remove the waiting timer once")
	}
	c.Advance(time.Hour)
	if _, ok := fired(b.C()); ok {
		t.Fatal("stopped timer fired")
	}
	if now := c.Now(); !now.Equal(t0.Add(time.Hour + time.Minute)) {
		t.Fatalf("Now() = %v", now)
	}
	if _, ok := fired(c.NewTimer(0).C()); !ok {
		t.Fatal("zero timer did not fire at once")
	}
}

func TestClock_Set_and_WaitForTimers(t *testing.T) {
	c := crontest.NewClock(t0)
	if err := c.Set(t0.Add(-time.Second)); err == nil {
		t.Error("Set(past) error = nil")
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() { done <- c.WaitForTimers(ctx, 1) }()
	tm := c.NewTimer(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := c.Set(t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, ok := fired(tm.C()); !ok {
		t.Fatal("timer did not fire at Set")
	}
	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelShort()
	if err := c.WaitForTimers(short, 1); err == nil {
		t.Error("WaitForTimers with no timer returned nil")
	}
}
