package cron_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rococo-go/rococo/rococo/cron"
)

// FuzzParseExpressions checks that any CRON_EXPRESSIONS value either parses
// into expressions that parse again unchanged, or fails with a one-line
// *ParseError; never a panic.
func FuzzParseExpressions(f *testing.F) {
	for _, s := range []string{
		"*/5 * * * *", "0,30 * * * *,15 1 * * *", "0 3 * * mon-fri", "0 0 30 2 *",
		"CRON_TZ=UTC 0 9 * * *", "TZ=UTC", "CRON_TZ=", "* * * * 1,2", "1-5/2 */3 1,15 * sun",
		"@daily", ",,,", "* * * * *,", "5-1 * * * *", "*/0 * * * *",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		exprs, err := cron.ParseExpressions(s)
		if err != nil {
			var pe *cron.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseExpressions(%q) error %T %v, want *ParseError", s, err, err)
			}
			return
		}
		if len(exprs) == 0 {
			t.Fatalf("ParseExpressions(%q) = no expressions and no error", s)
		}
		again, err := cron.ParseExpressions(strings.Join(exprs, ","))
		if err != nil || len(again) != len(exprs) {
			t.Fatalf("ParseExpressions(%q) = %q, which parses again as %q, %v", s, exprs, again, err)
		}
	})
}

// FuzzParseTimeOfDay checks CRON_RUN_AT parsing: a parsed time is in range
// and formats back to the input (HH:MM:SS, or HH:MM plus ":00").
func FuzzParseTimeOfDay(f *testing.F) {
	for _, s := range []string{"09:30:15", "23:59:59", "00:00", "24:00:00", "9:00:00", "12:60", "", "１２:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tod, err := cron.ParseTimeOfDay(s)
		if err != nil {
			return
		}
		if tod.Hour < 0 || tod.Hour > 23 || tod.Minute < 0 || tod.Minute > 59 || tod.Second < 0 || tod.Second > 59 {
			t.Fatalf("ParseTimeOfDay(%q) = %+v, out of range", s, tod)
		}
		if got := tod.String(); got != s && got != s+":00" {
			t.Fatalf("ParseTimeOfDay(%q) = %v, does not format back", s, got)
		}
	})
}

// FuzzParseInterval checks that any CRON_TIME_AMOUNT/UNIT/RUN_AT triple
// either yields a usable interval or a *ParseError naming one of the three.
func FuzzParseInterval(f *testing.F) {
	f.Add("5", "minutes", "")
	f.Add("0.5", "Seconds", "")
	f.Add("1", "days", "10:00:00")
	f.Add("1e9", "weeks", "")
	f.Add("99999999999", "weeks", "")
	f.Add("2", "hours", "10:00")
	f.Fuzz(func(t *testing.T, amount, unit, runAt string) {
		spec, err := cron.ParseInterval(amount, unit, runAt)
		if err != nil {
			var pe *cron.ParseError
			if !errors.As(err, &pe) || !strings.HasPrefix(pe.Var, "CRON_") {
				t.Fatalf("ParseInterval(%q, %q, %q) error %v, want a CRON_* *ParseError", amount, unit, runAt, err)
			}
			return
		}
		if spec.Every < cron.MinInterval {
			t.Fatalf("ParseInterval(%q, %q, %q) = %v, below MinInterval", amount, unit, runAt, spec.Every)
		}
		if spec.RunAt != nil && spec.Unit != "days" {
			t.Fatalf("ParseInterval(%q, %q, %q) = run at with unit %q", amount, unit, runAt, spec.Unit)
		}
		if _, err := cron.New(spec, noop{}, cron.Options{}); err != nil {
			t.Fatalf("cron.New(ParseInterval(%q, %q, %q)) error = %v", amount, unit, runAt, err)
		}
	})
}
