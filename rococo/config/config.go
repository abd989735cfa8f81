package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
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
	// ExecutionType is MESSAGING (the default, as in Python) or CRON.
	ExecutionType string
	// MessagingType is RabbitMqConnection, SqsConnection, or "" for a cron
	// service without a broker.
	MessagingType string
	// ProcessorType names the processor to run (PROCESSOR_TYPE).
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
	// LogLevel is LOGLEVEL upper-cased, one of DEBUG, INFO, WARNING, WARN,
	// ERROR, CRITICAL; "" when unset (see Level).
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

	RabbitMQ RabbitMQConfig
	SQS      SQSConfig
	Consume  ConsumeConfig
	// Cron is the schedule (EXECUTION_TYPE=CRON only).
	Cron cron.Spec

	// env is the merged environment: .env, overridden by .env.local,
	// overridden by the process environment. It is an unexported pointer
	// so that printing a Config (fmt prints nested pointers as addresses)
	// cannot print the secrets it holds.
	env *environment
}

type environment struct{ m map[string]string }

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

// RabbitMQConfig is the RabbitMQ connection (MESSAGING_TYPE=RabbitMqConnection).
type RabbitMQConfig struct {
	Host        string // RABBITMQ_HOST, default localhost
	Port        int    // RABBITMQ_PORT, default 5672
	User        string // RABBITMQ_USER, default guest
	Password    Secret // RABBITMQ_PASSWORD, default guest
	VirtualHost string // RABBITMQ_VIRTUAL_HOST, default "/"
	NumThreads  int    // RABBITMQ_NUM_THREADS, default 1: messages processed at once
}

// SQSConfig is the SQS connection (MESSAGING_TYPE=SqsConnection).
type SQSConfig struct {
	Region      string // AWS_REGION (else the SDK's default chain)
	AccessKeyID string // AWS_ACCESS_KEY_ID (else the SDK's default chain)
	// SecretAccessKey is AWS_SECRET_ACCESS_KEY, or AWS_ACCESS_KEY_SECRET as
	// Python rococo names it.
	SecretAccessKey Secret
	// SessionToken is AWS_SESSION_TOKEN, which temporary keys (SSO, an
	// assumed role, Lambda) come with.
	SessionToken Secret
	// Endpoint is AWS_ENDPOINT_URL_SQS, else AWS_ENDPOINT_URL ("" = AWS).
	Endpoint   string
	NumThreads int // SQS_NUM_THREADS, default 1: messages processed at once
}

// ConsumeConfig comes from the dotenv file named by CONSUME_CONFIG_FILE_PATH.
type ConsumeConfig struct {
	// ExitWhenFinished (EXIT_WHEN_FINISHED=1) stops the service once the
	// queue is empty and nothing is in flight.
	ExitWhenFinished bool
	// ListenInterval (LISTEN_INTERVAL, seconds or a Go duration, default
	// 20s) is the SQS long-polling wait, 0 to 20 s.
	ListenInterval time.Duration
	// VisibilityTimeout (VISIBILITY_TIMEOUT, seconds or a Go duration) is
	// the SQS visibility timeout; 0 means the queue's own.
	VisibilityTimeout time.Duration
}

// Concurrency returns the number of messages processed at once:
// RABBITMQ_NUM_THREADS or SQS_NUM_THREADS, per MessagingType (1 otherwise).
func (c *Config) Concurrency() int {
	switch c.MessagingType {
	case RabbitMQ:
		return c.RabbitMQ.NumThreads
	case SQS:
		return c.SQS.NumThreads
	}
	return 1
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
		slog.String("processor_type", c.ProcessorType),
		slog.String("app_env", c.AppEnv),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
	}
	if c.MessagingType != "" {
		attrs = append(attrs, slog.String("messaging_type", c.MessagingType), slog.Int("concurrency", c.Concurrency()))
	}
	if c.QueueName != "" {
		attrs = append(attrs, slog.String("queue", c.QueueName), slog.Int("max_retries", c.MaxRetries))
	}
	switch c.MessagingType {
	case RabbitMQ:
		attrs = append(attrs, slog.String("rabbitmq_host", c.RabbitMQ.Host), slog.Int("rabbitmq_port", c.RabbitMQ.Port),
			slog.String("rabbitmq_user", c.RabbitMQ.User), slog.String("rabbitmq_virtual_host", c.RabbitMQ.VirtualHost))
	case SQS:
		attrs = append(attrs, slog.String("aws_region", c.SQS.Region), slog.String("sqs_endpoint", c.SQS.Endpoint))
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
	return parse(env, dir)
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

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Accepted-value texts shared by several variables.
const (
	wantPort    = "a port number 1-65535"
	wantThreads = "a whole number of messages processed at once, 1-1024"
)

var logLevels = []string{"DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"}

// reader looks variables up in the merged environment.
type reader struct{ env map[string]string }

// get returns the value of name; empty counts as unset.
func (r reader) get(name string) string { return r.env[name] }

func (r reader) str(name, def string) string {
	if v := r.get(name); v != "" {
		return v
	}
	return def
}

func (r reader) int(name string, def, min, max int, want string) (int, error) {
	v := r.get(name)
	if v == "" {
		return def, nil
	}
	n, ok := ParseInt(v, min, max)
	if !ok {
		return 0, &Error{Var: name, Value: v, Accepted: want}
	}
	return n, nil
}

func (r reader) duration(name string, def time.Duration, positive bool) (time.Duration, error) {
	v := r.get(name)
	if v == "" {
		return def, nil
	}
	d, ok := ParseDuration(v)
	if !ok || (positive && d <= 0) {
		want := WantDuration
		if positive {
			want = "a positive " + strings.TrimPrefix(want, "a ")
		}
		return 0, &Error{Var: name, Value: v, Accepted: want}
	}
	return d, nil
}

func (r reader) bool(name string) (bool, error) {
	v := r.get(name)
	if v == "" {
		return false, nil
	}
	b, ok := ParseBool(v)
	if !ok {
		return false, &Error{Var: name, Value: v, Accepted: WantBool}
	}
	return b, nil
}

func parse(env map[string]string, dir string) (*Config, error) {
	r := reader{env: env}
	c := &Config{env: &environment{m: env}}
	var err error

	// Execution.
	switch v := r.get("EXECUTION_TYPE"); v {
	case "":
		c.ExecutionType = Messaging
	case Messaging, Cron:
		c.ExecutionType = v
	default:
		// Stricter than Python, which treats anything but CRON as
		// MESSAGING: a typo such as "cron" must not start a consumer.
		return nil, &Error{Var: "EXECUTION_TYPE", Value: v, Accepted: "MESSAGING or CRON (upper case; unset means MESSAGING)"}
	}
	switch v := r.get("MESSAGING_TYPE"); v {
	case "":
		if c.ExecutionType == Messaging {
			return nil, &Error{Var: "MESSAGING_TYPE", Accepted: "RabbitMqConnection or SqsConnection (required when EXECUTION_TYPE is MESSAGING)"}
		}
	case RabbitMQ, SQS:
		c.MessagingType = v
	default:
		return nil, &Error{Var: "MESSAGING_TYPE", Value: v, Accepted: "RabbitMqConnection or SqsConnection"}
	}
	c.ProcessorType = r.get("PROCESSOR_TYPE")
	if c.ProcessorType == "" {
		return nil, &Error{Var: "PROCESSOR_TYPE", Accepted: "the type name of one of the service's processors"}
	}
	if !validName(c.ProcessorType) {
		return nil, &Error{Var: "PROCESSOR_TYPE", Value: c.ProcessorType, Accepted: "a Go type name (letters, digits and _)"}
	}
	c.ProcessorModule = r.get("PROCESSOR_MODULE")
	c.QueueNamePrefix = r.get("QUEUE_NAME_PREFIX")
	queueVar := c.ProcessorType + "_QUEUE_NAME"
	if q := r.get(queueVar); q != "" {
		c.QueueName = c.QueueNamePrefix + q
	} else if c.ExecutionType == Messaging {
		return nil, &Error{Var: queueVar, Accepted: "the name of the queue to consume (required when EXECUTION_TYPE is MESSAGING; QUEUE_NAME_PREFIX is prepended)"}
	}
	if c.QueueName != "" && !validQueue(c.QueueName) {
		return nil, &Error{Var: queueVar, Value: r.get(queueVar), Accepted: "a queue name (with QUEUE_NAME_PREFIX) of 1-80 letters, digits, '-', '_', '.' or ':'"}
	}

	// Message handling.
	if c.MaxRetries, err = r.int("MAX_RETRIES", 5, 1, 1000, "a whole number of attempts 1-1000"); err != nil {
		return nil, err
	}
	if c.RetryBackoff, err = r.duration("RETRY_BACKOFF", time.Second, true); err != nil {
		return nil, err
	}
	if c.MaxRetryBackoff, err = r.duration("RETRY_BACKOFF_MAX", 5*time.Minute, true); err != nil {
		return nil, err
	}
	if c.MaxRetryBackoff < c.RetryBackoff {
		return nil, &Error{Var: "RETRY_BACKOFF_MAX", Value: r.str("RETRY_BACKOFF_MAX", c.MaxRetryBackoff.String()), Accepted: fmt.Sprintf("a duration at least RETRY_BACKOFF (%v)", c.RetryBackoff)}
	}
	if c.ShutdownTimeout, err = r.duration("SHUTDOWN_TIMEOUT", 30*time.Second, false); err != nil {
		return nil, err
	}

	// HTTP port.
	if c.HealthPort, err = r.int("HEALTH_PORT", 8080, 0, 65535, "a port number 0-65535 (0 turns the health server off)"); err != nil {
		return nil, err
	}
	if v := r.get("HEALTH_ADDR"); v != "" {
		host, port, err := net.SplitHostPort(v)
		_, portOK := ParseInt(port, 0, 65535)
		if err != nil || !portOK || (host != "" && net.ParseIP(host) == nil && !validHost(host)) {
			return nil, &Error{Var: "HEALTH_ADDR", Value: v, Accepted: "a listen address host:port such as 127.0.0.1:8080 or :8080 (overrides HEALTH_PORT)"}
		}
		c.HealthAddr = v
	}

	// Logging and reporting.
	c.AppEnv = r.str("APP_ENV", "development")
	if v := r.get("LOGLEVEL"); v != "" {
		up := strings.ToUpper(strings.TrimSpace(v))
		if !slices.Contains(logLevels, up) {
			return nil, &Error{Var: "LOGLEVEL", Value: v, Accepted: "one of DEBUG, INFO, WARNING, WARN, ERROR, CRITICAL (case-insensitive)"}
		}
		c.LogLevel = up
	}
	if v := r.get("LOG_FORMAT"); v != "" {
		f := strings.ToLower(strings.TrimSpace(v))
		if f != FormatText && f != FormatJSON {
			return nil, &Error{Var: "LOG_FORMAT", Value: v, Accepted: "text or json (unset: json when APP_ENV=production, else text)"}
		}
		c.LogFormat = f
	}
	c.RollbarToken = Secret(r.get("ROLLBAR_ACCESS_TOKEN"))
	c.Location = time.UTC
	if v := r.get("TZ"); v != "" {
		loc, err := time.LoadLocation(strings.TrimPrefix(v, ":"))
		if err != nil {
			return nil, &Error{Var: "TZ", Value: v, Accepted: "an IANA time zone such as UTC or Europe/Paris"}
		}
		c.Location = loc
	}

	// Brokers: only the one in use is read and checked.
	switch c.MessagingType {
	case RabbitMQ:
		if err := c.parseRabbitMQ(r); err != nil {
			return nil, err
		}
	case SQS:
		if err := c.parseSQS(r); err != nil {
			return nil, err
		}
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

func (c *Config) parseRabbitMQ(r reader) error {
	var err error
	c.RabbitMQ.Host = r.str("RABBITMQ_HOST", "localhost")
	if !validHost(c.RabbitMQ.Host) && net.ParseIP(c.RabbitMQ.Host) == nil {
		return &Error{Var: "RABBITMQ_HOST", Value: c.RabbitMQ.Host, Accepted: "a host name or IP address"}
	}
	if c.RabbitMQ.Port, err = r.int("RABBITMQ_PORT", 5672, 1, 65535, wantPort); err != nil {
		return err
	}
	c.RabbitMQ.User = r.str("RABBITMQ_USER", "guest")
	c.RabbitMQ.Password = Secret(r.str("RABBITMQ_PASSWORD", "guest"))
	c.RabbitMQ.VirtualHost = r.str("RABBITMQ_VIRTUAL_HOST", "/")
	if c.RabbitMQ.NumThreads, err = r.int("RABBITMQ_NUM_THREADS", 1, 1, 1024, wantThreads); err != nil {
		return err
	}
	return nil
}

func (c *Config) parseSQS(r reader) error {
	var err error
	c.SQS.Region = r.get("AWS_REGION")
	if c.SQS.Region != "" && !regionRE.MatchString(c.SQS.Region) {
		return &Error{Var: "AWS_REGION", Value: c.SQS.Region, Accepted: "an AWS region such as us-east-1"}
	}
	c.SQS.AccessKeyID = r.get("AWS_ACCESS_KEY_ID")
	secret := r.get("AWS_SECRET_ACCESS_KEY")
	if secret == "" {
		secret = r.get("AWS_ACCESS_KEY_SECRET")
	}
	c.SQS.SecretAccessKey = Secret(secret)
	c.SQS.SessionToken = Secret(r.get("AWS_SESSION_TOKEN"))
	if c.SQS.AccessKeyID != "" && secret == "" {
		return &Error{Var: "AWS_SECRET_ACCESS_KEY", Accepted: "the secret key of AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY_SECRET), or neither key for the SDK's default credential chain"}
	}
	if c.SQS.AccessKeyID == "" && secret != "" {
		return &Error{Var: "AWS_ACCESS_KEY_ID", Accepted: "the access key id that goes with AWS_SECRET_ACCESS_KEY, or neither key for the SDK's default credential chain"}
	}
	for _, name := range []string{"AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL"} {
		v := r.get(name)
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &Error{Var: name, Value: v, Accepted: "an http or https URL such as http://127.0.0.1:4566"}
		}
		if c.SQS.Endpoint == "" {
			c.SQS.Endpoint = v
		}
	}
	if c.SQS.NumThreads, err = r.int("SQS_NUM_THREADS", 1, 1, 1024, wantThreads); err != nil {
		return err
	}
	return nil
}

// maxVisibilityTimeout is SQS's limit (12 hours).
const maxVisibilityTimeout = 12 * time.Hour

// maxListenInterval is SQS's long-polling limit.
const maxListenInterval = 20 * time.Second

func (c *Config) parseConsume(r reader, dir string) error {
	c.Consume.ListenInterval = maxListenInterval
	path := r.get("CONSUME_CONFIG_FILE_PATH")
	if path == "" {
		return nil
	}
	full := path
	if !filepath.IsAbs(full) && dir != "" {
		full = filepath.Join(dir, full)
	}
	m, err := readDotenv(full, false)
	if err != nil {
		return &Error{Var: "CONSUME_CONFIG_FILE_PATH", Value: path, Accepted: "a readable dotenv file with EXIT_WHEN_FINISHED, LISTEN_INTERVAL, VISIBILITY_TIMEOUT (" + oneLine(err.Error()) + ")"}
	}
	f := reader{env: m}
	in := func(e error) error {
		var ce *Error
		if errors.As(e, &ce) {
			ce.Var += " in " + path
		}
		return e
	}
	if c.Consume.ExitWhenFinished, err = f.bool("EXIT_WHEN_FINISHED"); err != nil {
		return in(err)
	}
	if c.Consume.ListenInterval, err = f.duration("LISTEN_INTERVAL", maxListenInterval, false); err != nil {
		return in(err)
	}
	if c.Consume.ListenInterval > maxListenInterval {
		return in(&Error{Var: "LISTEN_INTERVAL", Value: f.get("LISTEN_INTERVAL"), Accepted: "a long-polling wait of 0 to 20 seconds"})
	}
	if c.Consume.VisibilityTimeout, err = f.duration("VISIBILITY_TIMEOUT", 0, false); err != nil {
		return in(err)
	}
	if c.Consume.VisibilityTimeout > maxVisibilityTimeout {
		return in(&Error{Var: "VISIBILITY_TIMEOUT", Value: f.get("VISIBILITY_TIMEOUT"), Accepted: "0 to 43200 seconds (12 hours)"})
	}
	return nil
}

func (c *Config) parseCron(r reader) error {
	var err error
	if c.Cron.RunAtStartup, err = r.bool("RUN_AT_STARTUP"); err != nil {
		return err
	}
	exprs := r.get("CRON_EXPRESSIONS")
	amount, unit, runAt := r.get("CRON_TIME_AMOUNT"), r.get("CRON_TIME_UNIT"), r.get("CRON_RUN_AT")
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
