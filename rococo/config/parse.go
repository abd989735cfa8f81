package config

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The parsers below are shared by every variable; each returns ok=false for
// a value it does not accept and never panics.

var secondsRE = regexp.MustCompile(`^(\d+(\.\d*)?|\.\d+)$`)

// parseDuration accepts a Go duration ("1.5s", "5m", "1h30m") or a plain
// number of seconds ("30", "0.5"), as Python's settings give seconds. The
// result is at least 0.
func parseDuration(s string) (time.Duration, bool) {
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

// parseInt accepts a decimal integer in [min, max].
func parseInt(s string, min, max int) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < min || n > max {
		return 0, false
	}
	return n, true
}

// parseBool accepts true/false, 1/0, yes/no and on/off, in any case.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	return false, false
}
