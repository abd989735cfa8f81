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
	"os"
	"strings"

	"github.com/rococo-go/rococo/rococo/config"
)

// Env reads a service's settings: config.Env's typed readers (String,
// Required, Int, IntRange, Bool, Duration, PositiveDuration), whose errors
// are the runtime's own one-line *config.Error, plus AppEnv. Empty values
// count as unset.
//
// An Init that returns such an error stops the service with exit status 2
// and that one line, as an invalid runtime variable does.
type Env struct{ config.Env }

// FromOS reads the process environment.
func FromOS() Env { return Env{config.EnvFunc(os.LookupEnv)} }

// FromMap reads m, for tests.
func FromMap(m map[string]string) Env { return Env{config.EnvMap(m)} }

// FromConfig reads the merged environment of a loaded configuration
// (process environment, .env.local and .env).
func FromConfig(c *config.Config) Env { return Env{c.Env()} }

// AppEnv returns APP_ENV, "development" when unset.
func (e Env) AppEnv() string {
	return strings.TrimSpace(e.String("APP_ENV", "development"))
}

// IsProduction reports whether APP_ENV is "production".
func (e Env) IsProduction() bool { return e.AppEnv() == config.Production }
