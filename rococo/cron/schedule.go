package cron

import (
	"fmt"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// schedule computes fire times. first gives the first fire time after the
// scheduler started at now; following gives the fire time after prev that is
// also after now (ticks missed while the process was not scheduled, e.g. a
// suspended VM, are skipped, keeping the schedule's phase).
type schedule interface {
	first(now time.Time) time.Time
	following(prev, now time.Time) time.Time
	String() string
}

func newSchedule(spec Spec, loc *time.Location) (schedule, error) {
	if len(spec.Expressions) > 0 {
		c := crontabs{loc: loc, exprs: spec.Expressions}
		for _, e := range spec.Expressions {
			s, err := parseCrontab(e)
			if err != nil {
				return nil, fmt.Errorf("parse CRON_EXPRESSIONS %q: %w", e, err)
			}
			c.scheds = append(c.scheds, s)
		}
		return c, nil
	}
	if spec.Every < MinInterval {
		return nil, fmt.Errorf("interval %v is shorter than %v", spec.Every, MinInterval)
	}
	if spec.RunAt != nil {
		days := int(spec.Every / (24 * time.Hour))
		if days < 1 || spec.Every%(24*time.Hour) != 0 {
			return nil, fmt.Errorf("CRON_RUN_AT needs a whole number of days, got interval %v", spec.Every)
		}
		return daysAt{days: days, at: *spec.RunAt, loc: loc}, nil
	}
	return every{d: spec.Every}, nil
}

// crontabs fires whenever any of its expressions fires, evaluated in loc
// (unless an expression names its own CRON_TZ).
type crontabs struct {
	loc    *time.Location
	exprs  []string
	scheds []robfig.Schedule
}

func (c crontabs) first(now time.Time) time.Time { return c.next(now) }

func (c crontabs) following(prev, now time.Time) time.Time {
	if now.After(prev) {
		return c.next(now)
	}
	return c.next(prev)
}

// next returns the earliest fire time after t, or the zero time when no
// expression fires within five years.
func (c crontabs) next(t time.Time) time.Time {
	var best time.Time
	for _, s := range c.scheds {
		n := s.Next(t.In(c.loc))
		if !n.IsZero() && (best.IsZero() || n.Before(best)) {
			best = n
		}
	}
	return best
}

func (c crontabs) String() string { return fmt.Sprintf("crontab %q in %v", c.exprs, c.loc) }

// every fires every d, counted from the start.
type every struct{ d time.Duration }

func (e every) first(now time.Time) time.Time { return now.Add(e.d) }

func (e every) following(prev, now time.Time) time.Time {
	n := prev.Add(e.d)
	if !n.After(now) {
		n = n.Add(e.d * (now.Sub(n)/e.d + 1))
	}
	return n
}

func (e every) String() string { return fmt.Sprintf("every %v", e.d) }

// daysAt fires at a time of day in loc, every days calendar days, starting
// with the first such time after the start (so across a DST change it keeps
// the wall-clock time).
type daysAt struct {
	days int
	at   TimeOfDay
	loc  *time.Location
}

func (d daysAt) first(now time.Time) time.Time {
	n := now.In(d.loc)
	t := time.Date(n.Year(), n.Month(), n.Day(), d.at.Hour, d.at.Minute, d.at.Second, 0, d.loc)
	for !t.After(now) {
		t = time.Date(t.Year(), t.Month(), t.Day()+1, d.at.Hour, d.at.Minute, d.at.Second, 0, d.loc)
	}
	return t
}

func (d daysAt) following(prev, now time.Time) time.Time {
	p := prev.In(d.loc)
	t := time.Date(p.Year(), p.Month(), p.Day()+d.days, d.at.Hour, d.at.Minute, d.at.Second, 0, d.loc)
	for !t.After(now) {
		t = time.Date(t.Year(), t.Month(), t.Day()+d.days, d.at.Hour, d.at.Minute, d.at.Second, 0, d.loc)
	}
	return t
}

func (d daysAt) String() string {
	return fmt.Sprintf("every %d day(s) at %v %v", d.days, d.at, d.loc)
}
