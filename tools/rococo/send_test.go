package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/rabbitmq"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

// messagingWorkspace is a workspace with one RabbitMQ service consuming a
// queue of its own (deleted at the end) on the local broker, reached
// through the service's .env.
func messagingWorkspace(t *testing.T) (ws, queue string) {
	t.Helper()
	ws = fakeWorkspace(t)
	queue = fmt.Sprintf("rococo-cli-test-%d", time.Now().UnixNano())
	dir := filepath.Join(ws, "services", "orders")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	build := `rococo_service(
    name = "orders",
    env = {"OrdersProcessor_QUEUE_NAME": "` + queue + `"},
    execution_type = "MESSAGING",
    messaging_type = "RabbitMqConnection",
    processor_type = "OrdersProcessor",
)
`
	for name, content := range map[string]string{"BUILD.bazel": build, ".env": "RABBITMQ_HOST=127.0.0.1\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cron := "rococo_service(\n    name = \"nightly\",\n    execution_type = \"CRON\",\n    processor_type = \"N\",\n    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n)\n"
	if err := os.MkdirAll(filepath.Join(ws, "services", "nightly"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "services", "nightly", "BUILD.bazel"), []byte(cron), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
		if err != nil {
			return
		}
		defer conn.Close()
		for _, q := range []string{queue, rococo.DeadLetterQueue(queue)} { // nothing here consumes, so no delay queues
			if ch, err := conn.Channel(); err == nil {
				_, _ = ch.QueueDelete(q, false, false, false)
				_ = ch.Close()
			}
		}
	})
	return ws, queue
}

func runCLI(t *testing.T, ws, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := func(k string) string {
		if k == "BUILD_WORKSPACE_DIRECTORY" {
			return ws
		}
		return ""
	}
	code := run(context.Background(), args, env, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestSend_and_DLQ: send publishes to the service's queue (argument and
// stdin); a message the consumer dead-letters shows in dlq with its error
// and attempt; --replay --id moves it back.
func TestSend_and_DLQ(t *testing.T) {
	rococotest.RequireBroker(t, "127.0.0.1:5672")
	ws, queue := messagingWorkspace(t)

	if code, out, errs := runCLI(t, ws, "", "send", "orders", `{"name": "Ann"}`); code != 0 || !strings.Contains(out, "to queue "+queue+" (RabbitMqConnection)") {
		t.Fatalf("send: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, ws, `{"name": ""}`+"\n", "send", "orders"); code != 0 {
		t.Fatalf("send from stdin: %d %q", code, errs)
	}

	// The service's consumer: the first is handled, the second dead-lettered.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr := ordersTransport(ctx, t, queue)
	dels, err := tr.Consume(ctx, queue, rococo.ConsumeOptions{Prefetch: 2})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		d := <-dels
		if string(d.Message().Body) == `{"name": "Ann"}` {
			err = d.Ack(ctx)
		} else {
			err = d.DeadLetter(ctx, errors.New(`request has no name: send {"name": "..."}`))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	_ = tr.Close()

	code, out, errs := runCLI(t, ws, "", "dlq", "orders")
	if code != 0 || !strings.Contains(out, `request has no name: send {"name": "..."}`) || !strings.Contains(out, "1 message(s) in "+queue+".dlq") {
		t.Fatalf("dlq: %d\n%s\n%s", code, out, errs)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if f := strings.Fields(strings.Split(out, "\n")[1]); f[1] != "1" {
		t.Errorf("dlq lists attempt %s, want 1:\n%s", f[1], out)
	}
	if code, out, errs := runCLI(t, ws, "", "dlq", "orders", "--replay", "--id", "body:000000000000"); code != 1 || !strings.Contains(errs, "no dead letter has the id") || !strings.Contains(out, "1 left there") {
		t.Errorf("replay of an unknown id: %d %q %q", code, out, errs)
	}
	if code, out, errs := runCLI(t, ws, "", "dlq", "orders", "--replay", "--id", id); code != 0 || !strings.Contains(out, "replayed 1 message(s)") {
		t.Fatalf("replay: %d %q %q", code, out, errs)
	}
	if code, out, _ := runCLI(t, ws, "", "dlq", "orders"); code != 0 || !strings.Contains(out, "is empty") {
		t.Errorf("dlq after the replay: %d %q", code, out)
	}
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	d, ok, err := ch.Get(queue, true)
	if err != nil || !ok || string(d.Body) != `{"name": ""}` {
		t.Fatalf("the queue after the replay: %v %v %q, want the replayed message", ok, err, d.Body)
	}
}

func TestSend_DLQ_bad_input(t *testing.T) {
	ws := fakeWorkspace(t)
	dir := filepath.Join(ws, "services", "nightly")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "BUILD.bazel"), []byte("rococo_service(\n    name = \"nightly\",\n    execution_type = \"CRON\",\n    processor_type = \"N\",\n    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantErr  string
	}{
		{"send without a service", []string{"send"}, "", 2, "usage: rococo send <service> [json]"},
		{"send not JSON", []string{"send", "nightly", "{name: Ann}"}, "", 2, "the body is not JSON"},
		{"send empty stdin", []string{"send", "nightly"}, "", 2, "the body is not JSON"},
		{"send to an unknown service", []string{"send", "nope", "{}"}, "", 2, "no service nope: services/nope/BUILD.bazel does not exist"},
		{"send to a cron service", []string{"send", "nightly", "{}"}, "", 1, "nightly is a CRON service: it consumes no queue"},
		{"send Python's NaN (valid: past the body check)", []string{"send", "nightly", `{"v": NaN}`}, "", 1, "nightly is a CRON service"},
		{"dlq without a service", []string{"dlq"}, "", 2, "usage: rococo dlq <service>"},
		{"dlq --id without --replay", []string{"dlq", "nightly", "--id", "x"}, "", 2, "--id selects what --replay moves. Fix: add --replay"},
		{"dlq of a cron service", []string{"dlq", "nightly"}, "", 1, "nightly is a CRON service"},
		{"dlq of an unknown service", []string{"dlq", "nope"}, "", 2, "no service nope: services/nope/BUILD.bazel does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, ws, tc.stdin, tc.args...)
			if code != tc.wantCode || !strings.Contains(errs, tc.wantErr) {
				t.Errorf("rococo %q: %d %q, want %d and %q", tc.args, code, errs, tc.wantCode, tc.wantErr)
			}
		})
	}
}

// TestPublishError: the queue is named once, whether or not the
// transport's error names it.
func TestPublishError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("publish to queue %q: %w", "q", errors.New("dial tcp: connection refused")), `publish to queue "q": dial tcp: connection refused`},
		{fmt.Errorf("publish to %q: %w", "q", errors.New("no such host")), `publish to "q": no such host`},
		{errors.New("connection refused"), `publish to queue "q": connection refused`},
	}
	for _, tc := range tests {
		if got := publishError("q", tc.err).Error(); got != tc.want {
			t.Errorf("publishError(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// ordersTransport opens the RabbitMQ transport of the fake workspace's
// orders service on queue (at 127.0.0.1), with its configuration.
func ordersTransport(ctx context.Context, t *testing.T, queue string) rococo.Transport {
	t.Helper()
	cfg, err := config.Load([]string{"MESSAGING_TYPE=RabbitMqConnection", "PROCESSOR_TYPE=OrdersProcessor", "OrdersProcessor_QUEUE_NAME=" + queue, "RABBITMQ_HOST=127.0.0.1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := rabbitmq.FromEnv(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tc.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
