package rabbitmq

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rococo-go/rococo/rococo/config"
)

func loadEnv(t *testing.T, extra ...string) *config.Config {
	t.Helper()
	cfg, err := config.Load(append([]string{
		"EXECUTION_TYPE=MESSAGING",
		"MESSAGING_TYPE=RabbitMqConnection",
		"PROCESSOR_TYPE=EmailServiceProcessor",
		"EmailServiceProcessor_QUEUE_NAME=emails",
	}, extra...), "")
	if err != nil {
		t.Fatalf("config.Load() = %v", err)
	}
	return cfg
}

func TestFromEnv(t *testing.T) {
	tc, err := FromEnv(loadEnv(t,
		"RABBITMQ_HOST=rabbit.internal",
		"RABBITMQ_PORT=5673",
		"RABBITMQ_USER=svc",
		"RABBITMQ_PASSWORD=hunter2",
		"RABBITMQ_VIRTUAL_HOST=prod",
		"RABBITMQ_NUM_THREADS=8",
	))
	if err != nil {
		t.Fatalf("FromEnv() = %v", err)
	}
	if got := tc.Concurrency(); got != 8 {
		t.Errorf("Concurrency() = %d, want 8", got)
	}
	if got := tc.LogValue().String(); strings.Contains(got, "hunter2") {
		t.Errorf("LogValue() = %s shows the password", got)
	}
	tr, err := tc.Open(context.Background(), nil)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	defer tr.Close()
	got := tr.(*Transport).cfg
	if got.Host != "rabbit.internal" || got.Port != 5673 || got.User != "svc" || got.Password != "hunter2" || got.VirtualHost != "prod" || got.ConnectionName != "rococo EmailServiceProcessor" {
		t.Errorf("FromEnv() config = %+v (password %q)", got, got.Password)
	}
	if want := "amqp://svc:xxxxx@rabbit.internal:5673/prod"; got.Redacted() != want {
		t.Errorf("Redacted() = %q, want %q", got.Redacted(), want)
	}
}

func TestFromEnv_defaults(t *testing.T) {
	tc, err := FromEnv(loadEnv(t))
	if err != nil {
		t.Fatalf("FromEnv() = %v", err)
	}
	e := tc.(envConfig)
	if e.threads != 1 || e.cfg.Host != "localhost" || e.cfg.Port != 5672 || e.cfg.User != "guest" || e.cfg.Password != "guest" || e.cfg.VirtualHost != "/" {
		t.Errorf("FromEnv() = %+v", e)
	}
}

func TestFromEnv_bad_values(t *testing.T) {
	tests := []struct {
		env, want string
	}{
		{"RABBITMQ_HOST=bad host", `invalid RABBITMQ_HOST="bad host": want a host name or IP address`},
		{"RABBITMQ_PORT=0", `invalid RABBITMQ_PORT="0": want a port number 1-65535`},
		{"RABBITMQ_PORT=http", `invalid RABBITMQ_PORT="http": want a port number 1-65535`},
		{"RABBITMQ_NUM_THREADS=0", `invalid RABBITMQ_NUM_THREADS="0": want a whole number of messages processed at once, 1-1024`},
		{"RABBITMQ_NUM_THREADS=2000", `invalid RABBITMQ_NUM_THREADS="2000": want a whole number of messages processed at once, 1-1024`},
		{"RETRY_BACKOFF_MAX=3000h", `invalid RETRY_BACKOFF_MAX="3000h": want a duration of at most 1193h`},
		{"EmailServiceProcessor_QUEUE_NAME=amq.gen", `invalid EmailServiceProcessor_QUEUE_NAME="amq.gen": want a RabbitMQ queue name of 1-200 bytes of UTF-8 without control characters, not starting with amq. (QUEUE_NAME_PREFIX included)`},
		{"EmailServiceProcessor_QUEUE_NAME=" + strings.Repeat("q", 201), `invalid EmailServiceProcessor_QUEUE_NAME="` + strings.Repeat("q", 201) + `": want a RabbitMQ queue name`},
		{"EmailServiceProcessor_QUEUE_NAME=a\tb", `invalid EmailServiceProcessor_QUEUE_NAME="a\tb": want a RabbitMQ queue name`},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			_, err := FromEnv(loadEnv(t, tc.env))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("FromEnv(%s) = %v, want %s", tc.env, err, tc.want)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Errorf("FromEnv(%s) error %T is not a *config.Error", tc.env, err)
			}
		})
	}
}
