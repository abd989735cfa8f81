package manifest

import (
	"fmt"
	"strings"
	"time"
)

// crontab returns the CronJob schedule (and time zone) that runs spec's
// schedule, or ok false with the reason a crontab cannot express it.
//
// A CRON_EXPRESSIONS of one expression is taken as it is (a CRON_TZ= or
// TZ= prefix becomes the CronJob's timeZone, as Kubernetes wants it). An
// interval that divides an hour or a day, one day, one week, or one day at
// a whole minute (CRON_RUN_AT) becomes the crontab with the same period. The
// runtime counts an interval from its start, the CronJob from the clock
// (every 10 minutes: at :00, :10, ...): the period is the same, the phase is
// the clock's.
func (s *service) crontab() (schedule, tz, note string, ok bool) {
	tz = s.tz
	if exprs := s.cron.Expressions; len(exprs) > 0 {
		if len(exprs) > 1 {
			return "", "", fmt.Sprintf("CRON_EXPRESSIONS holds %d expressions and a CronJob has one schedule (CronJobs of their own could overlap, which one process never does)", len(exprs)), false
		}
		e := exprs[0]
		if f := strings.Fields(e); len(f) == 6 && (strings.HasPrefix(f[0], "CRON_TZ=") || strings.HasPrefix(f[0], "TZ=")) {
			_, tz, _ = strings.Cut(f[0], "=")
			e = strings.Join(f[1:], " ")
		}
		return e, tz, fmt.Sprintf("the CronJob runs CRON_EXPRESSIONS %q", exprs[0]), true
	}
	d := s.cron.Every
	if at := s.cron.RunAt; at != nil {
		if d != 24*time.Hour || at.Second != 0 {
			return "", "", fmt.Sprintf("every %v at %v (CRON_RUN_AT) has no crontab: a crontab runs every day, at whole minutes", d, at), false
		}
		return fmt.Sprintf("%d %d * * *", at.Minute, at.Hour), tz, fmt.Sprintf("every day at %v (CRON_RUN_AT)", at), true
	}
	aligned := fmt.Sprintf("the runtime's interval of %v, counted from the process start, runs at clock-aligned times in the CronJob (same period)", d)
	if d%time.Minute != 0 {
		return "", "", fmt.Sprintf("an interval of %v has no crontab: a CronJob runs at most once a minute, at whole minutes", d), false
	}
	switch m := int(d / time.Minute); {
	case m == 1:
		return "* * * * *", tz, aligned, true
	case m < 60 && 60%m == 0:
		return fmt.Sprintf("*/%d * * * *", m), tz, aligned, true
	case m == 60:
		return "0 * * * *", tz, aligned, true
	case m%60 == 0 && m/60 < 24 && 24%(m/60) == 0:
		return fmt.Sprintf("0 */%d * * *", m/60), tz, aligned, true
	case m == 24*60:
		return "0 0 * * *", tz, aligned, true
	case m == 7*24*60:
		return "0 0 * * 0", tz, aligned + "; Sundays at midnight", true
	}
	return "", "", fmt.Sprintf("an interval of %v has no crontab of the same period (it does not divide an hour or a day, nor is it a day or a week)", d), false
}
