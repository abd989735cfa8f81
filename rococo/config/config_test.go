package config_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/cron"
)

// env builds an environ from a base map and overrides; an override value
// of "<unset>" removes the variable.
func env(base map[string]string, over map[string]string) []string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range over {
		if v == "<unset>" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

var (
	rabbit = map[string]string{
		"MESSAGING_TYPE":            "RabbitMqConnection",
		"PROCESSOR_TYPE":            "EmailProcessor",
		"EmailProcessor_QUEUE_NAME": "email",
		"QUEUE_NAME_PREFIX":         "dev-",
		"RABBITMQ_PASSWORD":         "s3cret-pass",
		"ROLLBAR_ACCESS_TOKEN":      "rollbar-tok",
	}
	sqs = map[string]string{
		"EXECUTION_TYPE":             "MESSAGING",
		"MESSAGING_TYPE":             "SqsConnection",
		"PROCESSOR_TYPE":             "ReportProcessor",
		"ReportProcessor_QUEUE_NAME": "reports",
		"AWS_REGION":                 "eu-west-1",
		"AWS_ACCESS_KEY_ID":          "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":      "aws-secret-value",
	}
	bandEnv = map[string]string{
		"EXECUTION_TYPE": "BAND",
	}
	cronEnv = map[string]string{
		"EXECUTION_TYPE":   "CRON",
		"PROCESSOR_TYPE":   "CleanupProcessor",
		"CRON_TIME_AMOUNT": "5",
		"CRON_TIME_UNIT":   "minutes",
	}
)

func TestLoad_defaults_rabbitmq(t *testing.T) {
	c, err := config.Load(env(rabbit, nil), "")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"ExecutionType", c.ExecutionType, "MESSAGING"},
		{"MessagingType", c.MessagingType, "RabbitMqConnection"},
		{"QueueName", c.QueueName, "dev-email"},
		{"MaxRetries", c.MaxRetries, 5},
		{"RetryBackoff", c.RetryBackoff, time.Second},
		{"MaxRetryBackoff", c.MaxRetryBackoff, 5 * time.Minute},
		{"ShutdownTimeout", c.ShutdownTimeout, 30 * time.Second},
		{"HealthPort", c.HealthPort, 8080},
		{"HealthAddr", c.HealthAddr, ""},
		{"AppEnv", c.AppEnv, "development"},
		{"Level", c.Level(), slog.LevelDebug},
		{"JSONLogs", c.JSONLogs(), false},
		{"Location", c.Location, time.UTC},
	}
	for _, ch := range checks {
		if fmt.Sprint(ch.got) != fmt.Sprint(ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoad_values(t *testing.T) {
	c, err := config.Load(env(rabbit, map[string]string{
		"MAX_RETRIES":   "3",
		"RETRY_BACKOFF": "250ms", "RETRY_BACKOFF_MAX": "10", "SHUTDOWN_TIMEOUT": "1m30s",
		"HEALTH_PORT": "0", "HEALTH_ADDR": "127.0.0.1:0", "APP_ENV": "production", "LOGLEVEL": "warning",
		"LOG_FORMAT": "TEXT", "PROCESSOR_MODULE": "processor", "TZ": "Europe/Paris",
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"MaxRetries", c.MaxRetries, 3},
		{"RetryBackoff", c.RetryBackoff, 250 * time.Millisecond},
		{"MaxRetryBackoff", c.MaxRetryBackoff, 10 * time.Second},
		{"ShutdownTimeout", c.ShutdownTimeout, 90 * time.Second},
		{"HealthPort", c.HealthPort, 0},
		{"HealthAddr", c.HealthAddr, "127.0.0.1:0"},
		{"Level", c.Level(), slog.LevelWarn},
		{"JSONLogs", c.JSONLogs(), false},
		{"ProcessorModule", c.ProcessorModule, "processor"},
		{"Location", c.Location.String(), "Europe/Paris"},
	}
	for _, ch := range checks {
		if fmt.Sprint(ch.got) != fmt.Sprint(ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoad_logging(t *testing.T) {
	tests := []struct {
		over      map[string]string
		wantLevel slog.Level
		wantJSON  bool
	}{
		{map[string]string{}, slog.LevelDebug, false},
		{map[string]string{"APP_ENV": "production"}, slog.LevelInfo, true},
		{map[string]string{"APP_ENV": "production", "LOGLEVEL": "debug"}, slog.LevelDebug, true},
		{map[string]string{"LOG_FORMAT": "json"}, slog.LevelDebug, true},
		{map[string]string{"LOGLEVEL": "Info"}, slog.LevelInfo, false},
		{map[string]string{"LOGLEVEL": "WARN"}, slog.LevelWarn, false},
		{map[string]string{"LOGLEVEL": "error"}, slog.LevelError, false},
		{map[string]string{"LOGLEVEL": "CRITICAL"}, slog.LevelError + 4, false},
		// LOG_LEVEL is what Band services write.
		{map[string]string{"LOG_LEVEL": "warning"}, slog.LevelWarn, false},
		{map[string]string{"APP_ENV": "production", "LOG_LEVEL": "debug"}, slog.LevelDebug, true},
		{map[string]string{"LOGLEVEL": "info", "LOG_LEVEL": "INFO"}, slog.LevelInfo, false},
	}
	for _, tc := range tests {
		c, err := config.Load(env(cronEnv, tc.over), "")
		if err != nil {
			t.Fatalf("Load(%v) error = %v", tc.over, err)
		}
		if c.Level() != tc.wantLevel || c.JSONLogs() != tc.wantJSON {
			t.Errorf("Load(%v): Level() = %v, JSONLogs() = %v, want %v, %v", tc.over, c.Level(), c.JSONLogs(), tc.wantLevel, tc.wantJSON)
		}
	}
}

// TestLoad_transport_variables_are_the_transports: RABBITMQ_*, AWS_* and
// SQS_* are read and checked by the transport packages (FromEnv), which
// get them through Env; the core accepts anything there.
func TestLoad_transport_variables_are_the_transports(t *testing.T) {
	c, err := config.Load(env(sqs, map[string]string{"AWS_REGION": "Europe", "SQS_NUM_THREADS": "0", "RABBITMQ_PORT": "x"}), "")
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if got := c.Env().Get("AWS_REGION"); got != "Europe" {
		t.Errorf("Env().Get(AWS_REGION) = %q, want the value as set", got)
	}
	if c.ConsumeFile().Get("LISTEN_INTERVAL") != "" {
		t.Error("ConsumeFile() without CONSUME_CONFIG_FILE_PATH has variables")
	}
}

func TestLoad_cron(t *testing.T) {
	tests := []struct {
		name string
		over map[string]string
		want cron.Spec
	}{
		{"interval", map[string]string{"RUN_AT_STARTUP": "true"}, cron.Spec{Every: 5 * time.Minute, Unit: "minutes", RunAtStartup: true}},
		{"fraction", map[string]string{"CRON_TIME_AMOUNT": "1.5", "CRON_TIME_UNIT": "Hours"}, cron.Spec{Every: 90 * time.Minute, Unit: "hours"}},
		{"run at", map[string]string{"CRON_TIME_AMOUNT": "1", "CRON_TIME_UNIT": "days", "CRON_RUN_AT": "03:00:00"}, cron.Spec{Every: 24 * time.Hour, Unit: "days", RunAt: &cron.TimeOfDay{Hour: 3}}},
		{"expressions win", map[string]string{"CRON_EXPRESSIONS": "0 3 * * *", "RUN_AT_STARTUP": "false"}, cron.Spec{Expressions: []string{"0 3 * * *"}, Every: 5 * time.Minute, Unit: "minutes"}},
		{"expressions alone", map[string]string{"CRON_EXPRESSIONS": "0 3 * * *,*/10 * * * *", "CRON_TIME_AMOUNT": "<unset>", "CRON_TIME_UNIT": "<unset>"}, cron.Spec{Expressions: []string{"0 3 * * *", "*/10 * * * *"}}},
	}
	for _, tc := range tests {
		c, err := config.Load(env(cronEnv, tc.over), "")
		if err != nil {
			t.Errorf("%s: Load error = %v", tc.name, err)
			continue
		}
		if fmt.Sprintf("%+v %v", c.Cron, c.Cron.RunAt) != fmt.Sprintf("%+v %v", tc.want, tc.want.RunAt) {
			t.Errorf("%s: Cron = %+v, want %+v", tc.name, c.Cron, tc.want)
		}
		if c.MessagingType != "" || c.QueueName != "" {
			t.Errorf("%s: cron without broker got MessagingType %q QueueName %q", tc.name, c.MessagingType, c.QueueName)
		}
	}
	// A cron service may name a broker (for its Publisher).
	c, err := config.Load(env(cronEnv, map[string]string{"MESSAGING_TYPE": "RabbitMqConnection"}), "")
	if err != nil || c.MessagingType != "RabbitMqConnection" {
		t.Errorf("cron with RabbitMQ: %v %+v", err, c)
	}
}

// TestLoad_band: a Band service needs no processor, queue or schedule; it
// may name a broker (for its functions' Publisher).
func TestLoad_band(t *testing.T) {
	tests := []struct {
		name string
		over map[string]string
	}{
		{"alone", nil},
		{"with a broker", map[string]string{"MESSAGING_TYPE": "RabbitMqConnection"}},
		{"with a leftover PROCESSOR_TYPE", map[string]string{"PROCESSOR_TYPE": "Ignored"}},
		{"CRON_* are not read", map[string]string{"CRON_TIME_UNIT": "fortnights"}},
	}
	for _, tc := range tests {
		c, err := config.Load(env(bandEnv, tc.over), "")
		if err != nil {
			t.Errorf("%s: Load() error = %v", tc.name, err)
			continue
		}
		if c.ExecutionType != config.Band || c.QueueName != "" || c.Cron.Every != 0 {
			t.Errorf("%s: Load() = %s queue %q cron %+v, want BAND without queue or schedule", tc.name, c.ExecutionType, c.QueueName, c.Cron)
		}
		if c.MessagingType != tc.over["MESSAGING_TYPE"] {
			t.Errorf("%s: MessagingType = %q", tc.name, c.MessagingType)
		}
	}
}

// TestLoad_bad_values covers every variable's bad values: each must give a
// one-line *config.Error naming the variable and its value.
func TestLoad_bad_values(t *testing.T) {
	tests := []struct {
		base    map[string]string
		over    map[string]string
		wantVar string
	}{
		{rabbit, map[string]string{"EXECUTION_TYPE": "cron"}, "EXECUTION_TYPE"},
		{rabbit, map[string]string{"EXECUTION_TYPE": "BATCH"}, "EXECUTION_TYPE"},
		{rabbit, map[string]string{"EXECUTION_TYPE": " CRON"}, "EXECUTION_TYPE"},
		{rabbit, map[string]string{"MESSAGING_TYPE": "<unset>"}, "MESSAGING_TYPE"},
		{rabbit, map[string]string{"MESSAGING_TYPE": "rabbit mq"}, "MESSAGING_TYPE"},
		{cronEnv, map[string]string{"MESSAGING_TYPE": "Sqs-Connection"}, "MESSAGING_TYPE"},
		{rabbit, map[string]string{"PROCESSOR_TYPE": "<unset>"}, "PROCESSOR_TYPE"},
		{cronEnv, map[string]string{"PROCESSOR_TYPE": "<unset>"}, "PROCESSOR_TYPE"},
		{rabbit, map[string]string{"PROCESSOR_TYPE": "my.Processor"}, "PROCESSOR_TYPE"},
		{rabbit, map[string]string{"PROCESSOR_TYPE": "9Lives"}, "PROCESSOR_TYPE"},
		{rabbit, map[string]string{"EmailProcessor_QUEUE_NAME": "<unset>"}, "EmailProcessor_QUEUE_NAME"},
		{rabbit, map[string]string{"PROCESSOR_TYPE": "Other"}, "Other_QUEUE_NAME"},
		{rabbit, map[string]string{"MAX_RETRIES": "0"}, "MAX_RETRIES"},
		{rabbit, map[string]string{"MAX_RETRIES": "-3"}, "MAX_RETRIES"},
		{rabbit, map[string]string{"MAX_RETRIES": "five"}, "MAX_RETRIES"},
		{rabbit, map[string]string{"MAX_RETRIES": "1.5"}, "MAX_RETRIES"},
		{rabbit, map[string]string{"RETRY_BACKOFF": "0"}, "RETRY_BACKOFF"},
		{rabbit, map[string]string{"RETRY_BACKOFF": "-1s"}, "RETRY_BACKOFF"},
		{rabbit, map[string]string{"RETRY_BACKOFF": "soon"}, "RETRY_BACKOFF"},
		{rabbit, map[string]string{"RETRY_BACKOFF_MAX": "1d"}, "RETRY_BACKOFF_MAX"},
		{rabbit, map[string]string{"RETRY_BACKOFF": "10s", "RETRY_BACKOFF_MAX": "5s"}, "RETRY_BACKOFF_MAX"},
		{rabbit, map[string]string{"SHUTDOWN_TIMEOUT": "-5"}, "SHUTDOWN_TIMEOUT"},
		{rabbit, map[string]string{"SHUTDOWN_TIMEOUT": "30 s"}, "SHUTDOWN_TIMEOUT"},
		{rabbit, map[string]string{"SHUTDOWN_TIMEOUT": "NaN"}, "SHUTDOWN_TIMEOUT"},
		{rabbit, map[string]string{"HEALTH_PORT": "65536"}, "HEALTH_PORT"},
		{rabbit, map[string]string{"HEALTH_PORT": "-1"}, "HEALTH_PORT"},
		{rabbit, map[string]string{"HEALTH_PORT": "http"}, "HEALTH_PORT"},
		{rabbit, map[string]string{"HEALTH_ADDR": "8080"}, "HEALTH_ADDR"},
		{rabbit, map[string]string{"HEALTH_ADDR": "127.0.0.1:99999"}, "HEALTH_ADDR"},
		{rabbit, map[string]string{"HEALTH_ADDR": "bad host:80"}, "HEALTH_ADDR"},
		{rabbit, map[string]string{"LOGLEVEL": "verbose"}, "LOGLEVEL"},
		{rabbit, map[string]string{"LOGLEVEL": "10"}, "LOGLEVEL"},
		{rabbit, map[string]string{"LOG_LEVEL": "trace"}, "LOG_LEVEL"},
		{rabbit, map[string]string{"LOGLEVEL": "info", "LOG_LEVEL": "debug"}, "LOG_LEVEL"},
		{bandEnv, map[string]string{"EXECUTION_TYPE": "band"}, "EXECUTION_TYPE"},
		{bandEnv, map[string]string{"PROCESSOR_TYPE": "not a name"}, "PROCESSOR_TYPE"},
		{bandEnv, map[string]string{"MESSAGING_TYPE": "rabbit mq"}, "MESSAGING_TYPE"},
		{rabbit, map[string]string{"LOG_FORMAT": "logfmt"}, "LOG_FORMAT"},
		{rabbit, map[string]string{"TZ": "Mars/Olympus"}, "TZ"},
		{sqs, map[string]string{"CONSUME_CONFIG_FILE_PATH": "/nonexistent/consume.env"}, "CONSUME_CONFIG_FILE_PATH"},
		{cronEnv, map[string]string{"CRON_TIME_AMOUNT": "<unset>"}, "CRON_TIME_AMOUNT"},
		{cronEnv, map[string]string{"CRON_TIME_AMOUNT": "0"}, "CRON_TIME_AMOUNT"},
		{cronEnv, map[string]string{"CRON_TIME_AMOUNT": "-2"}, "CRON_TIME_AMOUNT"},
		{cronEnv, map[string]string{"CRON_TIME_AMOUNT": "five"}, "CRON_TIME_AMOUNT"},
		{cronEnv, map[string]string{"CRON_TIME_UNIT": "<unset>"}, "CRON_TIME_UNIT"},
		{cronEnv, map[string]string{"CRON_TIME_UNIT": "months"}, "CRON_TIME_UNIT"},
		{cronEnv, map[string]string{"CRON_RUN_AT": "10:00:00"}, "CRON_RUN_AT"},
		{cronEnv, map[string]string{"CRON_TIME_UNIT": "days", "CRON_RUN_AT": "25:00:00"}, "CRON_RUN_AT"},
		{cronEnv, map[string]string{"CRON_TIME_UNIT": "days", "CRON_RUN_AT": "10am"}, "CRON_RUN_AT"},
		{cronEnv, map[string]string{"CRON_TIME_AMOUNT": "1.5", "CRON_TIME_UNIT": "days", "CRON_RUN_AT": "10:00:00"}, "CRON_TIME_AMOUNT"},
		{cronEnv, map[string]string{"CRON_EXPRESSIONS": "every day"}, "CRON_EXPRESSIONS"},
		{cronEnv, map[string]string{"CRON_EXPRESSIONS": "61 * * * *"}, "CRON_EXPRESSIONS"},
		{cronEnv, map[string]string{"CRON_EXPRESSIONS": "0 3 * * *,"}, "CRON_EXPRESSIONS"},
		{cronEnv, map[string]string{"CRON_EXPRESSIONS": "0 3 * * *", "CRON_TIME_UNIT": "fortnights"}, "CRON_TIME_UNIT"},
		{cronEnv, map[string]string{"RUN_AT_STARTUP": "sure"}, "RUN_AT_STARTUP"},
	}
	for _, tc := range tests {
		name := fmt.Sprint(tc.wantVar, tc.over)
		t.Run(name, func(t *testing.T) {
			_, err := config.Load(env(tc.base, tc.over), "")
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load() error = %v, want a *config.Error", err)
			}
			if ce.Var != tc.wantVar {
				t.Errorf("Load() error Var = %q, want %q (%v)", ce.Var, tc.wantVar, err)
			}
			if v, ok := tc.over[tc.wantVar]; ok && v != "<unset>" && ce.Value != v {
				t.Errorf("Load() error Value = %q, want %q", ce.Value, v)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") || !strings.Contains(msg, tc.wantVar) || !strings.Contains(msg, ": want ") {
				t.Errorf("Load() error = %q, want one line naming %s and what is accepted", msg, tc.wantVar)
			}
			for _, secret := range []string{"s3cret-pass", "aws-secret-value", "rollbar-tok"} {
				if strings.Contains(msg, secret) {
					t.Errorf("Load() error %q leaks a secret", msg)
				}
			}
		})
	}
}

func TestError_messages(t *testing.T) {
	tests := []struct {
		err  *config.Error
		want string
	}{
		{&config.Error{Var: "RABBITMQ_PORT", Value: "abc", Accepted: "a port number 1-65535"}, `invalid RABBITMQ_PORT="abc": want a port number 1-65535`},
		{&config.Error{Var: "PROCESSOR_TYPE", Accepted: "a name"}, `missing PROCESSOR_TYPE: want a name`},
		{&config.Error{Var: "X", Value: "a\nb", Accepted: "one\nline"}, `invalid X="a\nb": want one line`},
		{&config.Error{Var: "LISTEN_INTERVAL in /tmp/x/bad.env", Value: "30", Accepted: "0 to 20 seconds"}, `invalid LISTEN_INTERVAL="30" in /tmp/x/bad.env: want 0 to 20 seconds`},
		{&config.Error{Var: "LISTEN_INTERVAL in /tmp/x/bad.env", Accepted: "0 to 20 seconds"}, `missing LISTEN_INTERVAL in /tmp/x/bad.env: want 0 to 20 seconds`},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %s, want %s", got, tc.want)
		}
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoad_dotenv_precedence(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".env", "EXECUTION_TYPE=CRON\nPROCESSOR_TYPE=FromDotenv\nCRON_TIME_AMOUNT=1\nCRON_TIME_UNIT=hours\nMY_SETTING=dotenv\nONLY_DOTENV=yes\n")
	write(t, dir, ".env.local", "# local overrides\nPROCESSOR_TYPE=FromLocal\nCRON_TIME_AMOUNT=2\nMY_SETTING=\"local value\"\n")
	c, err := config.Load([]string{"CRON_TIME_AMOUNT=3"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.ExecutionType != "CRON" || c.ProcessorType != "FromLocal" || c.Cron.Every != 3*time.Hour {
		t.Errorf("Load() = %s %s %v, want CRON FromLocal 3h", c.ExecutionType, c.ProcessorType, c.Cron.Every)
	}
	if v, _ := c.Lookup("MY_SETTING"); v != "local value" {
		t.Errorf("Lookup(MY_SETTING) = %q, want %q", v, "local value")
	}
	if v, ok := c.Lookup("ONLY_DOTENV"); !ok || v != "yes" {
		t.Errorf("Lookup(ONLY_DOTENV) = %q, %v", v, ok)
	}
	if got := strings.Join(c.Environ(), " "); !strings.Contains(got, "CRON_TIME_AMOUNT=3") {
		t.Errorf("Environ() = %s, want CRON_TIME_AMOUNT=3", got)
	}
}

func TestLoad_no_dotenv_files(t *testing.T) {
	if _, err := config.Load(env(cronEnv, nil), t.TempDir()); err != nil {
		t.Errorf("Load() in a dir without dotenv files error = %v", err)
	}
}

func TestLoad_bad_dotenv_file(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".env", "A=\"unterminated\nB=2\n")
	_, err := config.Load(env(cronEnv, nil), dir)
	if err == nil || strings.ContainsAny(err.Error(), "\n") || !strings.Contains(err.Error(), ".env") {
		t.Errorf("Load() error = %q, want one line naming .env", err)
	}
}

func TestLoad_consume_config_file(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "consume.env", "EXIT_WHEN_FINISHED=1\nLISTEN_INTERVAL=5\nVISIBILITY_TIMEOUT=120\n")
	c, err := config.Load(env(sqs, map[string]string{"CONSUME_CONFIG_FILE_PATH": "consume.env"}), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Consume.ExitWhenFinished {
		t.Errorf("Consume = %+v", c.Consume)
	}
	// The transport reads its own variables of the file; errors name it.
	f := c.ConsumeFile()
	if d, err := f.Duration("LISTEN_INTERVAL", 0); err != nil || d != 5*time.Second {
		t.Errorf("ConsumeFile().Duration(LISTEN_INTERVAL) = %v, %v", d, err)
	}
	if _, err := f.Bool("VISIBILITY_TIMEOUT", false); err == nil || !strings.HasPrefix(err.Error(), `invalid VISIBILITY_TIMEOUT="120" in consume.env: want`) {
		t.Errorf("ConsumeFile().Bool(VISIBILITY_TIMEOUT) error = %v, want it to name the file", err)
	}
	for content, wantVar := range map[string]string{
		"EXIT_WHEN_FINISHED=maybe\n": "EXIT_WHEN_FINISHED in consume.env",
	} {
		write(t, dir, "consume.env", content)
		_, err := config.Load(env(sqs, map[string]string{"CONSUME_CONFIG_FILE_PATH": "consume.env"}), dir)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Var != wantVar {
			t.Errorf("consume file %q: error = %v, want Var %q", content, err, wantVar)
		}
	}
}

func TestSecrets_are_never_printed(t *testing.T) {
	c, err := config.Load(env(rabbit, nil), "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	log := slog.New(slog.NewJSONHandler(&b, nil))
	log.Info("config", "config", c, "token", c.RollbarToken)
	b.WriteString(fmt.Sprintf("%v %+v %#v %s", c, c, c, c.RollbarToken))
	out := b.String()
	for _, secret := range []string{"s3cret-pass", "rollbar-tok"} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q printed: %s", secret, out)
		}
	}
	if !strings.Contains(out, "[redacted]") || !strings.Contains(out, `"queue":"dev-email"`) {
		t.Errorf("output lacks [redacted] or the queue: %s", out)
	}
}

// A .env file that does not parse must not have its contents, secrets
// included, quoted in the error the host prints on stderr.
func TestLoad_bad_dotenv_file_hides_values(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		wantLine      string
	}{
		{"bad name before a secret", "APP_ENV=dev\nMY-SETTING=1\nRABBITMQ_PASSWORD=s3cret-pass\n", "line 2"},
		{"unterminated quoted secret", "APP_ENV=dev\nRABBITMQ_PASSWORD=\"s3cret-pass\nB=2\n", "line 2"},
		{"unterminated quoted secret, last line", "ROLLBAR_ACCESS_TOKEN='s3cret-pass", "line 1"},
		{"bad line after a multi-line value", "KEY=\"a\nb\"\nMY-SETTING=1\nRABBITMQ_PASSWORD=s3cret-pass\n", "line 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, ".env", tc.content)
			_, err := config.Load(env(cronEnv, nil), dir)
			if err == nil {
				t.Fatal("Load() error = nil, want a parse error")
			}
			msg := err.Error()
			if strings.Contains(msg, "s3cret") || strings.ContainsAny(msg, "\r\n") ||
				!strings.Contains(msg, ".env") || !strings.Contains(msg, tc.wantLine) {
				t.Errorf("Load() error = %q, want one line naming .env and %s, without the file's values", msg, tc.wantLine)
			}
		})
	}
	// The CONSUME_CONFIG_FILE_PATH file goes through the same parser.
	dir := t.TempDir()
	write(t, dir, "consume.env", "EXIT_WHEN_FINISHED=\"s3cret-pass\n")
	_, err := config.Load(env(sqs, map[string]string{"CONSUME_CONFIG_FILE_PATH": "consume.env"}), dir)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Load() with a bad consume file error = %v, want one without the file's values", err)
	}
}
