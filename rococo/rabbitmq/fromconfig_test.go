package rabbitmq

import (
	"context"
	"testing"

	"github.com/rococo-go/rococo/rococo/config"
)

func TestFromConfig(t *testing.T) {
	cfg, err := config.Load([]string{
		"EXECUTION_TYPE=MESSAGING",
		"MESSAGING_TYPE=RabbitMqConnection",
		"PROCESSOR_TYPE=EmailServiceProcessor",
		"EmailServiceProcessor_QUEUE_NAME=emails",
		"RABBITMQ_HOST=rabbit.internal",
		"RABBITMQ_PORT=5673",
		"RABBITMQ_USER=svc",
		"RABBITMQ_PASSWORD=hunter2",
		"RABBITMQ_VIRTUAL_HOST=prod",
	}, t.TempDir())
	if err != nil {
		t.Fatalf("config.Load() = %v", err)
	}
	tr, err := FromConfig(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("FromConfig() = %v", err)
	}
	defer tr.Close()
	got := tr.(*Transport).cfg
	if got.Host != "rabbit.internal" || got.Port != 5673 || got.User != "svc" || got.Password != "hunter2" || got.VirtualHost != "prod" {
		t.Errorf("FromConfig() config = %+v (password %q)", got, got.Password)
	}
	if want := "amqp://svc:xxxxx@rabbit.internal:5673/prod"; got.Redacted() != want {
		t.Errorf("Redacted() = %q, want %q", got.Redacted(), want)
	}
}
