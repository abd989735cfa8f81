package config

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The parsers below are shared by every variable, and exported for the
// settings a service reads itself (common/appconfig), so both accept the
// same values. Each returns ok=false for a value it does not accept and
// never panics.

// What ParseDuration and ParseBool accept, as an Error's Accepted text.
const (
	WantDuration = "a duration such as 30s, 1m30s or a number of seconds such as 30"
	WantBool     = "true or false (or 1/0, yes/no, on/off)"
)

var secondsRE = regexp.MustCompile(`^(\d+(\.\d*)?|\.\d+)$`)

// ParseDuration accepts a Go duration ("1.5s", "5m", "1h30m") or a plain
// number of seconds ("30", "0.5"), as Python's settings give seconds. The
// result is at least 0.
func ParseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if secondsRE.MatchString(s) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f*float64(time.Second) >= math.MaxInt64 {
			return 0, false
		}
		return time.Duration(f * float64(time.Second)), true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// ParseInt accepts a decimal integer in [min, max].
func ParseInt(s string, min, max int) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < min || n > max {
		return 0, false
	}
	return n, true
}

// ParseBool accepts true/false, 1/0, yes/no and on/off, in any case.
func ParseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	return false, false
}
