package cron

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// Spec says when a cron processor runs. It is parsed from the CRON_* env by
// package config, with ParseInterval and ParseExpressions.
//
// When Expressions is not empty it wins and the interval fields are ignored,
// as in Python rococo.
type Spec struct {
	// Expressions are 5-field crontab expressions (CRON_EXPRESSIONS); the
	// processor runs whenever any of them fires.
	Expressions []string
	// Every is the interval (CRON_TIME_AMOUNT CRON_TIME_UNIT). With RunAt it
	// is a whole number of days.
	Every time.Duration
	// Unit is the normalised CRON_TIME_UNIT: "seconds", "minutes", "hours",
	// "days" or "weeks".
	Unit string
	// RunAt, set only with Unit "days", runs the processor every Every at
	// this time of day (CRON_RUN_AT).
	RunAt *TimeOfDay
	// RunAtStartup runs the processor once as soon as the scheduler starts
	// (RUN_AT_STARTUP=true).
	RunAtStartup bool
}

// TimeOfDay is a wall-clock time, as CRON_RUN_AT gives it.
type TimeOfDay struct {
	Hour, Minute, Second int
}

// String formats t as HH:MM:SS.
func (t TimeOfDay) String() string {
	return fmt.Sprintf("%02d:%02d:%02d", t.Hour, t.Minute, t.Second)
}

// ParseError is a CRON_* value that does not parse. Package config turns it
// into a *config.Error with the same fields.
type ParseError struct {
	Var      string // the env variable, e.g. "CRON_TIME_UNIT"
	Value    string // the value it had
	Accepted string // what is accepted
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid %s=%q: want %s", e.Var, e.Value, e.Accepted)
}

// Accepted values, shared by the parsers and their errors.
const (
	acceptedAmount = "a positive decimal number such as 5 or 0.5 (fractions allowed)"
	acceptedUnit   = "one of seconds, minutes, hours, days, weeks (case-insensitive)"
	acceptedRunAt  = "a time of day HH:MM:SS (or HH:MM), 00:00:00 to 23:59:59"
	acceptedCron   = "comma-separated 5-field crontab expressions (minute hour day-of-month month day-of-week), e.g. \"*/5 * * * *,0 3 * * mon-fri\""
)

// units maps the accepted CRON_TIME_UNIT spellings (lower case) to the
// normalised unit. Singular forms are accepted because Python's schedule
// library has them too.
var units = map[string]string{
	"second": "seconds", "seconds": "seconds",
	"minute": "minutes", "minutes": "minutes",
	"hour": "hours", "hours": "hours",
	"day": "days", "days": "days",
	"week": "weeks", "weeks": "weeks",
}

var unitDuration = map[string]time.Duration{
	"seconds": time.Second,
	"minutes": time.Minute,
	"hours":   time.Hour,
	"days":    24 * time.Hour,
	"weeks":   7 * 24 * time.Hour,
}

// MinInterval is the shortest interval accepted, so that a typo such as
// CRON_TIME_AMOUNT=0.000001 cannot make the scheduler spin.
const MinInterval = time.Millisecond

var amountRE = regexp.MustCompile(`^(\d+(\.\d*)?|\.\d+)$`)

// ParseInterval parses CRON_TIME_AMOUNT, CRON_TIME_UNIT and CRON_RUN_AT
// (runAt may be empty) into a Spec. The amount is a plain decimal number,
// fractions allowed as in Python ("0.5" minutes is 30 s); CRON_RUN_AT is
// accepted only with days, and then the amount must be a whole number of
// days. Errors are *ParseError.
func ParseInterval(amount, unit, runAt string) (Spec, error) {
	a := strings.TrimSpace(amount)
	if !amountRE.MatchString(a) {
		return Spec{}, &ParseError{Var: "CRON_TIME_AMOUNT", Value: amount, Accepted: acceptedAmount}
	}
	f, err := strconv.ParseFloat(a, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) {
		return Spec{}, &ParseError{Var: "CRON_TIME_AMOUNT", Value: amount, Accepted: acceptedAmount}
	}
	u, ok := units[strings.ToLower(strings.TrimSpace(unit))]
	if !ok {
		return Spec{}, &ParseError{Var: "CRON_TIME_UNIT", Value: unit, Accepted: acceptedUnit}
	}
	ns := f * float64(unitDuration[u])
	if ns >= math.MaxInt64 {
		return Spec{}, &ParseError{Var: "CRON_TIME_AMOUNT", Value: amount, Accepted: "a positive number whose interval is under 290 years"}
	}
	spec := Spec{Every: time.Duration(ns), Unit: u}
	if spec.Every < MinInterval {
		return Spec{}, &ParseError{Var: "CRON_TIME_AMOUNT", Value: amount, Accepted: fmt.Sprintf("a positive number giving an interval of at least %v", MinInterval)}
	}
	if runAt == "" {
		return spec, nil
	}
	if u != "days" {
		return Spec{}, &ParseError{Var: "CRON_RUN_AT", Value: runAt, Accepted: fmt.Sprintf("no value unless CRON_TIME_UNIT is days (it is %q)", unit)}
	}
	if f != math.Trunc(f) {
		return Spec{}, &ParseError{Var: "CRON_TIME_AMOUNT", Value: amount, Accepted: "a whole number of days when CRON_RUN_AT is set"}
	}
	at, err := ParseTimeOfDay(runAt)
	if err != nil {
		return Spec{}, err
	}
	spec.RunAt = &at
	return spec, nil
}

var timeOfDayRE = regexp.MustCompile(`^(\d\d):(\d\d)(?::(\d\d))?$`)

// ParseTimeOfDay parses CRON_RUN_AT: HH:MM:SS, or HH:MM as Python's schedule
// library also accepts, on a 24-hour clock. Errors are *ParseError.
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	bad := &ParseError{Var: "CRON_RUN_AT", Value: s, Accepted: acceptedRunAt}
	m := timeOfDayRE.FindStringSubmatch(s)
	if m == nil {
		return TimeOfDay{}, bad
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	sec := 0
	if m[3] != "" {
		sec, _ = strconv.Atoi(m[3])
	}
	if h > 23 || mi > 59 || sec > 59 {
		return TimeOfDay{}, bad
	}
	return TimeOfDay{Hour: h, Minute: mi, Second: sec}, nil
}

// crontabParser accepts the standard five fields, names such as mon-fri
// and jan-dec, and an optional CRON_TZ=Area/City prefix; no descriptors.
// Note: day-of-week 0 is Sunday, as in crontab(5). (APScheduler 3, which
// Python rococo uses, reads 0 as Monday; names are unambiguous in both.)
var crontabParser = robfig.NewParser(robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month | robfig.Dow)

// ParseExpressions parses CRON_EXPRESSIONS: crontab expressions separated by
// commas. Since a crontab field may itself hold a comma ("0,30 * * * *"), a
// comma ends an expression only once five fields were read and the text after
// it has more than one field. Each expression must fire at least once in
// five years. It returns the expressions, trimmed. Errors are *ParseError.
func ParseExpressions(s string) ([]string, error) {
	exprs, err := splitExpressions(s)
	if err != nil {
		return nil, err
	}
	for _, e := range exprs {
		if _, err := parseCrontab(e); err != nil {
			return nil, &ParseError{Var: "CRON_EXPRESSIONS", Value: s, Accepted: fmt.Sprintf("%s (%q: %v)", acceptedCron, e, err)}
		}
	}
	return exprs, nil
}

func splitExpressions(s string) ([]string, error) {
	bad := &ParseError{Var: "CRON_EXPRESSIONS", Value: s, Accepted: acceptedCron}
	var exprs []string
	var cur string
	for _, piece := range strings.Split(s, ",") {
		fields := len(strings.Fields(piece))
		switch {
		case cur == "":
			cur = strings.TrimSpace(piece)
		case len(strings.Fields(cur)) < 5 || fields == 1:
			// The comma was inside a field (a list such as 0,30):
			// the piece continues the current expression.
			if strings.TrimSpace(piece) != piece && fields == 1 {
				return nil, bad
			}
			cur += "," + piece
		default:
			exprs = append(exprs, cur)
			cur = strings.TrimSpace(piece)
		}
		if cur == "" {
			return nil, bad
		}
	}
	exprs = append(exprs, cur)
	for _, e := range exprs {
		if len(strings.Fields(e)) < 5 {
			return nil, bad
		}
	}
	return exprs, nil
}

// neverCheckFrom is the reference time for checking that an expression
// fires at all (robfig's Next gives up after five years, so "0 0 30 2 *",
// the 30th of February, yields the zero time).
var neverCheckFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func parseCrontab(expr string) (sched robfig.Schedule, err error) {
	// robfig/cron v3.0.1 panics on a "CRON_TZ=" prefix with no space after
	// it; turn any panic of the parser into an error.
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("unparsable expression: %v", r)
		}
	}()
	sched, err = crontabParser.Parse(expr)
	if err != nil {
		return nil, err
	}
	if sched.Next(neverCheckFrom).IsZero() {
		return nil, fmt.Errorf("never fires")
	}
	return sched, nil
}
