package config

import (
	"math"
	"strings"
	"time"
)

// Env reads variables by name: the service's merged environment (Config.Env),
// the CONSUME_CONFIG_FILE_PATH file (Config.ConsumeFile), or any lookup
// function. It is the one reader of the runtime, of each transport's own
// variables and of a service's settings (common/appconfig), so they all
// accept the same values and fail with the same one-line *Error.
//
// Empty values count as unset. String and the parsers trim surrounding
// space; Get returns a value as it is (read a password with Get: it may end
// with a space). The zero Env has no variables.
type Env struct {
	lookup func(string) (string, bool)
	// in names where the variables come from in errors, e.g. "consume.env"
	// gives `invalid LISTEN_INTERVAL="30" in consume.env: ...`; "" for the
	// environment.
	in string
}

// EnvFunc returns an Env that reads lookup (os.LookupEnv, say).
func EnvFunc(lookup func(string) (string, bool)) Env { return Env{lookup: lookup} }

// EnvMap returns an Env that reads m.
func EnvMap(m map[string]string) Env {
	return Env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// Lookup returns the value of key and whether it is set.
func (e Env) Lookup(key string) (string, bool) {
	if e.lookup == nil {
		return "", false
	}
	return e.lookup(key)
}

// Get returns the value of key, "" when unset.
func (e Env) Get(key string) string {
	v, _ := e.Lookup(key)
	return v
}

// Error returns an *Error about key with the value it has, naming where the
// variable comes from (for a file: "KEY in FILE").
func (e Env) Error(key, accepted string) *Error {
	name := key
	if e.in != "" {
		name += " in " + e.in
	}
	return &Error{Var: name, Value: e.Get(key), Accepted: accepted}
}

// String returns key's value without surrounding space, or def when it is
// unset or blank.
func (e Env) String(key, def string) string {
	if v := strings.TrimSpace(e.Get(key)); v != "" {
		return v
	}
	return def
}

// Required returns key's value without surrounding space, or an *Error when
// it is unset or blank.
func (e Env) Required(key, accepted string) (string, error) {
	v := strings.TrimSpace(e.Get(key))
	if v == "" {
		return "", e.Error(key, accepted)
	}
	return v, nil
}

// Int returns key's value as a decimal integer, or def when it is unset.
func (e Env) Int(key string, def int) (int, error) {
	return e.IntRange(key, def, math.MinInt, math.MaxInt, "a whole number")
}

// IntRange returns key's value as a decimal integer in [lo, hi], or def when
// it is unset; accepted says what is accepted in the error.
func (e Env) IntRange(key string, def, lo, hi int, accepted string) (int, error) {
	v := e.Get(key)
	if v == "" {
		return def, nil
	}
	n, ok := ParseInt(v, lo, hi)
	if !ok {
		return 0, e.Error(key, accepted)
	}
	return n, nil
}

// Bool returns key's value as a boolean (true/false, 1/0, yes/no, on/off,
// any case), or def when it is unset.
func (e Env) Bool(key string, def bool) (bool, error) {
	v := e.Get(key)
	if v == "" {
		return def, nil
	}
	b, ok := ParseBool(v)
	if !ok {
		return false, e.Error(key, WantBool)
	}
	return b, nil
}

// Duration returns key's value as a Go duration ("90s", "1h30m") or a
// number of seconds ("90"), or def when it is unset. Negative values are
// errors.
func (e Env) Duration(key string, def time.Duration) (time.Duration, error) {
	v := e.Get(key)
	if v == "" {
		return def, nil
	}
	d, ok := ParseDuration(v)
	if !ok {
		return 0, e.Error(key, WantDuration)
	}
	return d, nil
}

// PositiveDuration is Duration for values that must be above zero.
func (e Env) PositiveDuration(key string, def time.Duration) (time.Duration, error) {
	d, err := e.Duration(key, def)
	if err != nil || d <= 0 {
		return 0, e.Error(key, "a positive "+strings.TrimPrefix(WantDuration, "a "))
	}
	return d, nil
}
