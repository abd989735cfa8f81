// Package appconfig provides typed access to a service's own settings in the
// environment, the Go counterpart of app_config in Python rococo's common
// package: APP_ENV and any variable a service adds (CLEANUP_DIR, API_URL,
// ...).
//
// The host exports the values of .env and .env.local into the process
// environment at start (without overriding it), so FromOS sees them, as
// Python's load_dotenv does. A value that does not parse gives a
// *config.Error, the same one-line error as the runtime's own variables:
//
//	env := appconfig.FromOS()
//	maxAge, err := env.Duration("CLEANUP_MAX_AGE", 24*time.Hour)
package appconfig

import (
	"math"
	"os"
	"strings"
	"time"

	"github.com/rococo-go/rococo/rococo/config"
)

// Env reads settings from a lookup function. Empty values count as unset,
// as in package config.
type Env struct {
	lookup func(string) (string, bool)
}

// FromOS reads the process environment.
func FromOS() Env { return Env{lookup: os.LookupEnv} }

// FromMap reads m, for tests.
func FromMap(m map[string]string) Env {
	return Env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// FromConfig reads the merged environment of a loaded configuration
// (process environment, .env.local and .env).
func FromConfig(c *config.Config) Env { return Env{lookup: c.Lookup} }

func (e Env) get(key string) string {
	v, _ := e.lookup(key)
	return strings.TrimSpace(v)
}

// AppEnv returns APP_ENV, "development" when unset.
func (e Env) AppEnv() string {
	if v := e.get("APP_ENV"); v != "" {
		return v
	}
	return "development"
}

// IsProduction reports whether APP_ENV is "production".
func (e Env) IsProduction() bool { return e.AppEnv() == config.Production }

// String returns key's value, or def when it is unset.
func (e Env) String(key, def string) string {
	if v := e.get(key); v != "" {
		return v
	}
	return def
}

// Required returns key's value, or an error when it is unset.
func (e Env) Required(key, accepted string) (string, error) {
	v := e.get(key)
	if v == "" {
		return "", &config.Error{Var: key, Accepted: accepted}
	}
	return v, nil
}

// Int returns key's value as a decimal integer, or def when it is unset.
func (e Env) Int(key string, def int) (int, error) {
	v := e.get(key)
	if v == "" {
		return def, nil
	}
	n, ok := config.ParseInt(v, math.MinInt, math.MaxInt)
	if !ok {
		return 0, &config.Error{Var: key, Value: v, Accepted: "a whole number"}
	}
	return n, nil
}

// Bool returns key's value as a boolean (true/false, 1/0, yes/no, on/off,
// any case), or def when it is unset.
func (e Env) Bool(key string, def bool) (bool, error) {
	v := e.get(key)
	if v == "" {
		return def, nil
	}
	b, ok := config.ParseBool(v)
	if !ok {
		return false, &config.Error{Var: key, Value: v, Accepted: config.WantBool}
	}
	return b, nil
}

// Duration returns key's value as a Go duration ("90s", "1h30m") or a
// number of seconds ("90"), or def when it is unset. Negative values are
// errors.
func (e Env) Duration(key string, def time.Duration) (time.Duration, error) {
	v := e.get(key)
	if v == "" {
		return def, nil
	}
	d, ok := config.ParseDuration(v)
	if !ok {
		return 0, &config.Error{Var: key, Value: v, Accepted: config.WantDuration}
	}
	return d, nil
}
