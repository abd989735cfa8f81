package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/host"
	"github.com/rococo-go/rococo/rococo/rabbitmq"
	"github.com/rococo-go/rococo/rococo/sqs"
	"github.com/rococo-go/rococo/tools/internal/processors"
)

type OrdersProcessor struct{}

func (*OrdersProcessor) Process(context.Context, *rococo.Message) error { return nil }

type NightlyProcessor struct{}

func (NightlyProcessor) Process(context.Context) error { return nil }

// hostCheck runs rococo/host with --check and the env, as :check_test runs
// the service binary, and returns its one line on stderr ("" when it
// accepts the env).
func hostCheck(t *testing.T, env map[string]string) string {
	t.Helper()
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	info := host.Info{Name: "svc", Transports: map[string]host.TransportFactory{rabbitmq.MessagingType: rabbitmq.FromEnv, sqs.MessagingType: sqs.FromEnv}}
	code := host.Run(context.Background(), []string{"svc", "--check"}, environ, info, &OrdersProcessor{}, NightlyProcessor{})
	os.Stdout, os.Stderr = stdout, stderr
	w.Close()
	out, _ := io.ReadAll(r)
	if code == 0 {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// TestRuntimeCheck_matches_host: rococo check's runtimeCheck, on the
// processors it reads from processor.go, refuses what the service binary's
// --check refuses, with the same message.
func TestRuntimeCheck_matches_host(t *testing.T) {
	procs := map[string]processors.Kind{"OrdersProcessor": processors.Message, "NightlyProcessor": processors.Cron}
	msg := func(kv ...string) map[string]string {
		m := map[string]string{"EXECUTION_TYPE": "MESSAGING", "MESSAGING_TYPE": "RabbitMqConnection", "PROCESSOR_TYPE": "OrdersProcessor", "OrdersProcessor_QUEUE_NAME": "q"}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"valid", msg()},
		{"valid cron", map[string]string{"EXECUTION_TYPE": "CRON", "PROCESSOR_TYPE": "NightlyProcessor", "CRON_TIME_AMOUNT": "5", "CRON_TIME_UNIT": "minutes"}},
		{"typo", msg("PROCESSOR_TYPE", "OrdersProcesor")},
		{"cron processor for MESSAGING", msg("PROCESSOR_TYPE", "NightlyProcessor")},
		{"message processor for CRON", map[string]string{"EXECUTION_TYPE": "CRON", "PROCESSOR_TYPE": "OrdersProcessor", "CRON_TIME_AMOUNT": "5", "CRON_TIME_UNIT": "minutes"}},
		{"queue variable of another processor", msg("OrdersProcessor_QUEUE_NAME", "", "Probe12OrdersProcessor_QUEUE_NAME", "q")},
		{"sqs queue name", msg("MESSAGING_TYPE", "SqsConnection", "AWS_REGION", "us-east-1", "OrdersProcessor_QUEUE_NAME", "probe12 sq!")},
		{"rabbitmq variable", msg("RABBITMQ_NUM_THREADS", "0")},
		{"schedule", map[string]string{"EXECUTION_TYPE": "CRON", "PROCESSOR_TYPE": "NightlyProcessor", "CRON_EXPRESSIONS": "0 0 30 2 *"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := hostCheck(t, tc.env)
			got := ""
			if err := runtimeCheck(tc.env, procs); err != nil {
				got = strings.Join(strings.Fields(err.Error()), " ")
			}
			if got != want {
				t.Errorf("runtimeCheck = %q\nthe binary's --check: %q", got, want)
			}
		})
	}
}
