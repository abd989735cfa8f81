package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/rococo-go/rococo/rococo/cron"
)

// Execution and messaging types, as Python rococo names them.
const (
	Messaging = "MESSAGING"
	Cron      = "CRON"
	// Band runs a service of Band functions (package rococo/band): HTTP
	// handlers, workers, scheduled tasks and cleanups, no processor.
	Band = "BAND"

	RabbitMQ = "RabbitMqConnection"
	SQS      = "SqsConnection"
)

// Log formats (LOG_FORMAT).
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Production is the APP_ENV value that switches logging to JSON at INFO.
const Production = "production"

// Config is a service's validated configuration.
type Config struct {
	// ExecutionType is MESSAGING (the default, as in Python), CRON or BAND.
	ExecutionType string
	// MessagingType is RabbitMqConnection, SqsConnection, or "" for a cron
	// or Band service without a broker.
	MessagingType string
	// ProcessorType names the processor to run (PROCESSOR_TYPE); "" for a
	// Band service, which runs its registered functions instead.
	ProcessorType string
	// ProcessorModule is PROCESSOR_MODULE, accepted for compatibility with
	// Python rococo and otherwise ignored.
	ProcessorModule string
	// QueueNamePrefix is QUEUE_NAME_PREFIX.
	QueueNamePrefix string
	// QueueName is QUEUE_NAME_PREFIX + the value of
	// <PROCESSOR_TYPE>_QUEUE_NAME; required for MESSAGING.
	QueueName string

	// MaxRetries is MAX_RETRIES (default 5): the attempts a message gets
	// before it is dead-lettered.
	MaxRetries int
	// RetryBackoff (RETRY_BACKOFF, default 1s) is the delay before the
	// first retry; it doubles with each attempt up to MaxRetryBackoff
	// (RETRY_BACKOFF_MAX, default 5m).
	RetryBackoff, MaxRetryBackoff time.Duration
	// ShutdownTimeout (SHUTDOWN_TIMEOUT, default 30s) is how long in-flight
	// work may go on after SIGTERM.
	ShutdownTimeout time.Duration

	// HealthPort is HEALTH_PORT (default 8080; 0 turns the HTTP port off).
	HealthPort int
	// HealthAddr is HEALTH_ADDR, a host:port that overrides HealthPort
	// (e.g. 127.0.0.1:0 in tests); "" listens on HealthPort on every
	// interface.
	HealthAddr string

	// AppEnv is APP_ENV (default "development").
	AppEnv string
	// LogLevel is LOGLEVEL (or LOG_LEVEL, as Band services write it)
	// upper-cased, one of DEBUG, INFO, WARNING, WARN, ERROR, CRITICAL; ""
	// when unset (see Level).
	LogLevel string
	// LogFormat is LOG_FORMAT, "text" or "json"; when unset, json in
	// production and text elsewhere.
	LogFormat string
	// RollbarToken is ROLLBAR_ACCESS_TOKEN; errors are reported to Rollbar
	// when it is set.
	RollbarToken Secret
	// Location is the time zone of TZ (default UTC), used for CRON_RUN_AT
	// and crontab expressions.
	Location *time.Location

	// Consume holds the core setting of the CONSUME_CONFIG_FILE_PATH file;
	// ConsumeFile reads the rest (a transport's own, such as LISTEN_INTERVAL).
	Consume ConsumeConfig
	// Cron is the schedule (EXECUTION_TYPE=CRON only).
	Cron cron.Spec

	// env is the merged environment: .env, overridden by .env.local,
	// overridden by the process environment. It is an unexported pointer
	// so that printing a Config (fmt prints nested pointers as addresses)
	// cannot print the secrets it holds.
	env *environment
}

type environment struct {
	m           map[string]string
	consume     map[string]string // the CONSUME_CONFIG_FILE_PATH file, nil without one
	consumePath string
}

// Lookup returns the value of key in the merged environment (.env, then
// .env.local, then the process environment), so processors can read their
// own settings from the same files.
func (c *Config) Lookup(key string) (string, bool) {
	if c.env == nil {
		return "", false
	}
	v, ok := c.env.m[key]
	return v, ok
}

// Environ returns the merged environment as sorted "key=value" strings.
func (c *Config) Environ() []string {
	if c.env == nil {
		return nil
	}
	out := make([]string, 0, len(c.env.m))
	for k, v := range c.env.m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// Env returns the merged environment (.env, then .env.local, then the
// process environment) as an Env, from which transports read their own
// variables and processors their settings.
func (c *Config) Env() Env {
	if c.env == nil {
		return Env{}
	}
	return EnvMap(c.env.m)
}

// QueueError returns the error for a queue name (QueueName) that a
// transport's broker does not accept, naming <PROCESSOR_TYPE>_QUEUE_NAME.
func (c *Config) QueueError(accepted string) *Error {
	return &Error{Var: c.ProcessorType + "_QUEUE_NAME", Value: c.QueueName, Accepted: accepted + " (QUEUE_NAME_PREFIX included)"}
}

// ConsumeFile returns the variables of the CONSUME_CONFIG_FILE_PATH file
// (none when it is unset); errors from it name the file. The core reads
// EXIT_WHEN_FINISHED from it, transports their own settings (SQS:
// LISTEN_INTERVAL, VISIBILITY_TIMEOUT).
func (c *Config) ConsumeFile() Env {
	if c.env == nil || c.env.consume == nil {
		return Env{}
	}
	e := EnvMap(c.env.consume)
	e.in = c.env.consumePath
	return e
}

// ConsumeConfig is the core part of the dotenv file named by
// CONSUME_CONFIG_FILE_PATH.
type ConsumeConfig struct {
	// ExitWhenFinished (EXIT_WHEN_FINISHED=1) stops the service once the
	// queue is empty and nothing is in flight.
	ExitWhenFinished bool
}

// Level returns the slog level: LOGLEVEL when set, else DEBUG unless
// APP_ENV=production (INFO), as Python rococo's app_logger does. WARNING and
// WARN are slog's Warn; CRITICAL is above Error (slog.LevelError+4).
func (c *Config) Level() slog.Level {
	switch c.LogLevel {
	case "DEBUG":
		return slog.LevelDebug
	case "INFO":
		return slog.LevelInfo
	case "WARNING", "WARN":
		return slog.LevelWarn
	case "ERROR":
		return slog.LevelError
	case "CRITICAL":
		return slog.LevelError + 4
	}
	if c.AppEnv == Production {
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// JSONLogs reports whether logs are JSON: LOG_FORMAT=json, or APP_ENV=production
// with LOG_FORMAT unset.
func (c *Config) JSONLogs() bool {
	if c.LogFormat != "" {
		return c.LogFormat == FormatJSON
	}
	return c.AppEnv == Production
}

// LogValue implements slog.LogValuer: the configuration without secrets, for
// the start-up log.
func (c *Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("execution_type", c.ExecutionType),
	}
	if c.ProcessorType != "" {
		attrs = append(attrs, slog.String("processor_type", c.ProcessorType))
	}
	attrs = append(attrs,
		slog.String("app_env", c.AppEnv),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
	)
	if c.MessagingType != "" {
		attrs = append(attrs, slog.String("messaging_type", c.MessagingType))
	}
	if c.QueueName != "" {
		attrs = append(attrs, slog.String("queue", c.QueueName), slog.Int("max_retries", c.MaxRetries))
	}
	attrs = append(attrs, slog.Bool("rollbar", c.RollbarToken != ""))
	return slog.GroupValue(attrs...)
}

// Load reads the configuration from environ (as os.Environ gives it) and the
// optional files .env and .env.local in dir; dir "" reads no files. The
// process environment wins over .env.local, which wins over .env. A relative
// CONSUME_CONFIG_FILE_PATH is resolved against dir.
//
// Errors about a value are *Error; a dotenv file that cannot be read or
// parsed gives an error naming the file and the line, never the file's
// values (they may be secrets). Every error is one line.
func Load(environ []string, dir string) (*Config, error) {
	env, err := merge(environ, dir)
	if err != nil {
		return nil, err
	}
	return parse(env, dir)
}

// Merged returns the environment Load validates, without validating it:
// .env, overridden by .env.local (both in dir, optional; dir "" reads no
// files), overridden by environ. The host reads PROCESSOR_TYPE from it to
// check the processor name before the variables named after it. Errors are
// those of Load for an unreadable or malformed dotenv file.
func Merged(environ []string, dir string) (Env, error) {
	env, err := merge(environ, dir)
	if err != nil {
		return Env{}, err
	}
	return EnvMap(env), nil
}

func merge(environ []string, dir string) (map[string]string, error) {
	env := map[string]string{}
	if dir != "" {
		for _, name := range []string{".env", ".env.local"} {
			m, err := readDotenv(filepath.Join(dir, name), true)
			if err != nil {
				return nil, err
			}
			for k, v := range m {
				env[k] = v
			}
		}
	}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			env[k] = v
		}
	}
	return env, nil
}

// readDotenv reads a dotenv file; a missing file is an empty map when
// optional.
func readDotenv(path string, optional bool) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read dotenv file %s: %w", path, err)
	}
	m, err := godotenv.UnmarshalBytes(b)
	if err != nil {
		// The parser's message quotes the file from the bad line on, secrets
		// included: name the line instead.
		return nil, fmt.Errorf("parse dotenv file %s: invalid syntax at line %d (want NAME=value, NAME of letters, digits, '_' or '.', quotes closed; the line is not shown, it may hold a secret)", path, badLine(b))
	}
	return m, nil
}

// badLine returns the number of the line at which the dotenv content b
// stops parsing: the line after the longest run of lines that parses (a
// quoted value may span lines, so a shorter run can fail where the whole
// does not).
func badLine(b []byte) int {
	n, ok := 0, 0
	for end := 0; end < len(b); {
		i := bytes.IndexByte(b[end:], '\n')
		if i < 0 {
			end = len(b)
		} else {
			end += i + 1
		}
		n++
		if _, err := godotenv.UnmarshalBytes(b[:end]); err == nil {
			ok = n
		}
	}
	return min(ok+1, max(n, 1))
}

var logLevels = []string{"DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"}

// logLevel reads LOGLEVEL (Python rococo's name) or LOG_LEVEL (what Band
// services write), upper-cased; "" when neither is set. Both set to
// different levels is an error: one of them would be silently ignored.
func logLevel(r Env) (string, error) {
	var level, from string
	for _, key := range []string{"LOGLEVEL", "LOG_LEVEL"} {
		v := r.Get(key)
		if v == "" {
			continue
		}
		up := strings.ToUpper(strings.TrimSpace(v))
		if !slices.Contains(logLevels, up) {
			return "", r.Error(key, "one of DEBUG, INFO, WARNING, WARN, ERROR, CRITICAL (case-insensitive)")
		}
		if level != "" && up != level {
			return "", r.Error(key, fmt.Sprintf("the level of %s=%s, or one of the two unset (both name the log level)", from, r.Get(from)))
		}
		level, from = up, key
	}
	return level, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func parse(m map[string]string, dir string) (*Config, error) {
	r := EnvMap(m)
	c := &Config{env: &environment{m: m}}
	var err error

	// Execution.
	switch v := r.Get("EXECUTION_TYPE"); v {
	case "":
		c.ExecutionType = Messaging
	case Messaging, Cron, Band:
		c.ExecutionType = v
	default:
		// Stricter than Python, which treats anything but CRON as
		// MESSAGING: a typo such as "cron" must not start a consumer.
		return nil, r.Error("EXECUTION_TYPE", "MESSAGING, CRON or BAND (upper case; unset means MESSAGING)")
	}
	// MESSAGING_TYPE names a transport; which ones exist is known to the
	// host (the transports linked into the binary), which checks it.
	switch v := r.Get("MESSAGING_TYPE"); {
	case v == "" && c.ExecutionType == Messaging:
		return nil, r.Error("MESSAGING_TYPE", "RabbitMqConnection or SqsConnection (required when EXECUTION_TYPE is MESSAGING)")
	case v != "" && !validName(v):
		return nil, r.Error("MESSAGING_TYPE", "RabbitMqConnection or SqsConnection")
	default:
		c.MessagingType = v
	}
	// A Band service has no processor: PROCESSOR_TYPE is optional there (an
	// image's env may still carry it) and picks nothing.
	c.ProcessorType = r.Get("PROCESSOR_TYPE")
	if c.ProcessorType == "" && c.ExecutionType != Band {
		return nil, r.Error("PROCESSOR_TYPE", "the type name of one of the service's processors")
	}
	if c.ProcessorType != "" && !validName(c.ProcessorType) {
		return nil, r.Error("PROCESSOR_TYPE", "a Go type name (letters, digits and _)")
	}
	c.ProcessorModule = r.Get("PROCESSOR_MODULE")
	c.QueueNamePrefix = r.Get("QUEUE_NAME_PREFIX")
	// Each transport checks the name against its broker's rules.
	queueVar := c.ProcessorType + "_QUEUE_NAME"
	if q := r.Get(queueVar); q != "" && c.ProcessorType != "" {
		c.QueueName = c.QueueNamePrefix + q
	} else if c.ExecutionType == Messaging {
		return nil, r.Error(queueVar, "the name of the queue to consume (required when EXECUTION_TYPE is MESSAGING; QUEUE_NAME_PREFIX is prepended)")
	}

	// Message handling.
	if c.MaxRetries, err = r.IntRange("MAX_RETRIES", 5, 1, 1000, "a whole number of attempts 1-1000"); err != nil {
		return nil, err
	}
	if c.RetryBackoff, err = r.PositiveDuration("RETRY_BACKOFF", time.Second); err != nil {
		return nil, err
	}
	if c.MaxRetryBackoff, err = r.PositiveDuration("RETRY_BACKOFF_MAX", 5*time.Minute); err != nil {
		return nil, err
	}
	if c.MaxRetryBackoff < c.RetryBackoff {
		return nil, &Error{Var: "RETRY_BACKOFF_MAX", Value: r.String("RETRY_BACKOFF_MAX", c.MaxRetryBackoff.String()), Accepted: fmt.Sprintf("a duration at least RETRY_BACKOFF (%v)", c.RetryBackoff)}
	}
	if c.ShutdownTimeout, err = r.Duration("SHUTDOWN_TIMEOUT", 30*time.Second); err != nil {
		return nil, err
	}

	// HTTP port.
	if c.HealthPort, err = r.IntRange("HEALTH_PORT", 8080, 0, 65535, "a port number 0-65535 (0 turns the health server off)"); err != nil {
		return nil, err
	}
	if v := r.Get("HEALTH_ADDR"); v != "" {
		host, port, err := net.SplitHostPort(v)
		_, portOK := ParseInt(port, 0, 65535)
		if err != nil || !portOK || (host != "" && net.ParseIP(host) == nil && !ValidHost(host)) {
			return nil, r.Error("HEALTH_ADDR", "a listen address host:port such as 127.0.0.1:8080 or :8080 (overrides HEALTH_PORT)")
		}
		c.HealthAddr = v
	}

	// Logging and reporting.
	c.AppEnv = r.String("APP_ENV", "development")
	if c.LogLevel, err = logLevel(r); err != nil {
		return nil, err
	}
	if v := r.Get("LOG_FORMAT"); v != "" {
		f := strings.ToLower(strings.TrimSpace(v))
		if f != FormatText && f != FormatJSON {
			return nil, r.Error("LOG_FORMAT", "text or json (unset: json when APP_ENV=production, else text)")
		}
		c.LogFormat = f
	}
	c.RollbarToken = Secret(r.Get("ROLLBAR_ACCESS_TOKEN"))
	c.Location = time.UTC
	if v := r.Get("TZ"); v != "" {
		loc, err := time.LoadLocation(strings.TrimPrefix(v, ":"))
		if err != nil {
			return nil, r.Error("TZ", "an IANA time zone such as UTC or Europe/Paris")
		}
		c.Location = loc
	}

	if err := c.parseConsume(r, dir); err != nil {
		return nil, err
	}
	if c.ExecutionType == Cron {
		if err := c.parseCron(r); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// parseConsume reads the CONSUME_CONFIG_FILE_PATH file, keeps its variables
// for the transport (ConsumeFile) and reads the core's EXIT_WHEN_FINISHED.
func (c *Config) parseConsume(r Env, dir string) error {
	path := r.Get("CONSUME_CONFIG_FILE_PATH")
	if path == "" {
		return nil
	}
	full := path
	if !filepath.IsAbs(full) && dir != "" {
		full = filepath.Join(dir, full)
	}
	m, err := readDotenv(full, false)
	if err != nil {
		return r.Error("CONSUME_CONFIG_FILE_PATH", "a readable dotenv file with EXIT_WHEN_FINISHED, LISTEN_INTERVAL, VISIBILITY_TIMEOUT ("+oneLine(err.Error())+")")
	}
	if m == nil {
		m = map[string]string{}
	}
	c.env.consume, c.env.consumePath = m, path
	if c.Consume.ExitWhenFinished, err = c.ConsumeFile().Bool("EXIT_WHEN_FINISHED", false); err != nil {
		return err
	}
	return nil
}

func (c *Config) parseCron(r Env) error {
	var err error
	if c.Cron.RunAtStartup, err = r.Bool("RUN_AT_STARTUP", false); err != nil {
		return err
	}
	exprs := r.Get("CRON_EXPRESSIONS")
	amount, unit, runAt := r.Get("CRON_TIME_AMOUNT"), r.Get("CRON_TIME_UNIT"), r.Get("CRON_RUN_AT")
	if exprs != "" {
		if c.Cron.Expressions, err = cron.ParseExpressions(exprs); err != nil {
			return fromCron(err)
		}
	}
	if exprs != "" && amount == "" && unit == "" && runAt == "" {
		return nil
	}
	if exprs == "" && amount == "" {
		return &Error{Var: "CRON_TIME_AMOUNT", Accepted: "a positive number (with CRON_TIME_UNIT), or set CRON_EXPRESSIONS (required when EXECUTION_TYPE is CRON)"}
	}
	if exprs == "" && unit == "" {
		return &Error{Var: "CRON_TIME_UNIT", Accepted: "one of seconds, minutes, hours, days, weeks (required with CRON_TIME_AMOUNT)"}
	}
	// With CRON_EXPRESSIONS set the interval is ignored, but a set interval
	// is still checked: an invalid value is a mistake either way.
	spec, err := cron.ParseInterval(amount, unit, runAt)
	if err != nil {
		return fromCron(err)
	}
	c.Cron.Every, c.Cron.Unit, c.Cron.RunAt = spec.Every, spec.Unit, spec.RunAt
	return nil
}

// fromCron turns a *cron.ParseError into an *Error.
func fromCron(err error) error {
	var pe *cron.ParseError
	if errors.As(err, &pe) {
		return &Error{Var: pe.Var, Value: pe.Value, Accepted: pe.Accepted}
	}
	return err
}
