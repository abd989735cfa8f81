package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rococo-go/rococo/rococo/config"
)

// FuzzLoad feeds arbitrary values to every variable the config reads: Load
// must return a config or a one-line error, never panic.
func FuzzLoad(f *testing.F) {
	f.Add("RABBITMQ_PORT", "abc")
	f.Add("SHUTDOWN_TIMEOUT", "1m30s")
	f.Add("RETRY_BACKOFF", "99999999999999999999")
	f.Add("LOGLEVEL", "warning")
	f.Add("HEALTH_ADDR", "[::1]:0")
	f.Add("CRON_EXPRESSIONS", "0,30 * * * *,15 1 * * *")
	f.Add("CRON_TIME_AMOUNT", "0.5")
	f.Add("CRON_RUN_AT", "10:00:00")
	f.Add("TZ", ":Europe/Paris")
	f.Add("EXECUTION_TYPE", "CRON")
	f.Add("PROCESSOR_TYPE", "X\n")
	keys := []string{"EXECUTION_TYPE", "MESSAGING_TYPE", "PROCESSOR_TYPE", "MAX_RETRIES", "RETRY_BACKOFF",
		"RETRY_BACKOFF_MAX", "SHUTDOWN_TIMEOUT", "HEALTH_PORT", "HEALTH_ADDR", "LOGLEVEL", "LOG_FORMAT", "TZ",
		"RABBITMQ_HOST", "RABBITMQ_PORT", "RABBITMQ_NUM_THREADS", "AWS_REGION", "AWS_ENDPOINT_URL", "SQS_NUM_THREADS",
		"CRON_TIME_AMOUNT", "CRON_TIME_UNIT", "CRON_RUN_AT", "CRON_EXPRESSIONS", "RUN_AT_STARTUP", "QUEUE_NAME_PREFIX"}
	f.Fuzz(func(t *testing.T, key, value string) {
		for _, base := range []map[string]string{rabbit, sqs, cronEnv} {
			over := map[string]string{key: value}
			// Also put the value under a fixed key, so every parser sees
			// fuzzed input whatever the fuzzed key is.
			over[keys[len(value)%len(keys)]] = value
			if strings.ContainsAny(key, "=\x00") || key == "" {
				over = map[string]string{keys[len(key)%len(keys)]: value}
			}
			c, err := config.Load(env(base, over), "")
			if err != nil {
				if strings.ContainsAny(err.Error(), "\r\n") {
					t.Fatalf("Load error is not one line: %q", err.Error())
				}
				var ce *config.Error
				if !errors.As(err, &ce) {
					t.Fatalf("Load error %T %v, want *config.Error", err, err)
				}
				return
			}
			if c.ExecutionType != config.Messaging && c.ExecutionType != config.Cron {
				t.Fatalf("ExecutionType = %q", c.ExecutionType)
			}
			if c.MaxRetries < 1 || c.RetryBackoff <= 0 || c.MaxRetryBackoff < c.RetryBackoff || c.ShutdownTimeout < 0 {
				t.Fatalf("invalid config accepted: %+v", c)
			}
		}
	})
}

// FuzzDotenv feeds arbitrary .env contents: Load must not panic and its
// errors must be one line.
func FuzzDotenv(f *testing.F) {
	f.Add("A=1\nB=\"two\"\n# comment\nexport C='3'\n")
	f.Add("A=\"unterminated\n")
	f.Add("=novar\n")
	f.Add("EXECUTION_TYPE=CRON\nPROCESSOR_TYPE=P\nCRON_EXPRESSIONS=*/5 * * * *\n")
	f.Fuzz(func(t *testing.T, content string) {
		dir := t.TempDir()
		write(t, dir, ".env", content)
		_, err := config.Load(env(cronEnv, nil), dir)
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Fatalf("Load error is not one line: %q", err.Error())
		}
	})
}
