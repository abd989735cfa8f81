package main

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/rococotest"
	"github.com/rococo-go/rococo/rococo/sqs"
)

// TestDLQ_bad_flags: a negative --limit, and --limit with --replay, are
// usage errors (exit 2), before any broker is reached.
func TestDLQ_bad_flags(t *testing.T) {
	ws := fakeWorkspace(t)
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"dlq", "orders", "--limit", "-1"}, "--limit -1: want 0 (list all) or more"},
		{[]string{"dlq", "orders", "--replay", "--limit", "1"}, "--limit bounds the listing; --replay moves every dead letter, or those --id names. Fix: drop --limit"},
		{[]string{"dlq", "orders", "--replay", "--limit", "0"}, "Fix: drop --limit"},
		{[]string{"dlq", "orders", "--limit", "2", "--replay", "--id", "x"}, "Fix: drop --limit"},
	}
	for _, tc := range tests {
		code, out, errs := runCLI(t, ws, "", tc.args...)
		if code != 2 || !strings.Contains(errs, tc.wantErr) || out != "" {
			t.Errorf("rococo %q: %d %q %q, want 2 and %q", tc.args, code, out, errs, tc.wantErr)
		}
	}
}

// TestDLQ_limit_and_replay_while_refused_again (RabbitMQ): with three dead
// letters, --limit 1 says it listed 1 of 3; and --replay, while a consumer
// dead-letters every message it gets again at once (a service still
// failing on them), replays each once, says 3, and ends.
func TestDLQ_limit_and_replay_while_refused_again(t *testing.T) {
	rococotest.RequireBroker(t, "127.0.0.1:5672")
	ws, queue := messagingWorkspace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tr := ordersTransport(ctx, t, queue)
	defer tr.Close()
	if err := tr.Publish(ctx, queue, &rococo.Message{Body: []byte(`{"n":0}`)}, &rococo.Message{Body: []byte(`{"n":1}`)}, &rococo.Message{Body: []byte(`{"n":2}`)}); err != nil {
		t.Fatal(err)
	}
	refused := refuseEverything(ctx, t, tr, queue)
	waitFor(t, func() bool { return refused.Load() == 3 })
	dlq := queue + ".dlq"

	listed := func(args []string, want string) {
		t.Helper()
		code, out, errs := runCLI(t, ws, "", append([]string{"dlq", "orders"}, args...)...)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("rococo dlq orders %q: %d\n%s\n%s\nwant %q", args, code, out, errs, want)
		}
	}
	listed([]string{"--limit", "1"}, "\nlisted 1 of 3 message(s) in "+dlq+" (--limit 0 lists all); replay with")
	listed([]string{"--limit", "3"}, "\n3 message(s) in "+dlq+"; replay with")
	listed(nil, "\n3 message(s) in "+dlq+"; replay with")

	code, out, errs := runCLI(t, ws, "", "dlq", "orders", "--replay")
	if want := "replayed 3 message(s) from " + dlq + " to " + queue + "; 0 left there\n"; code != 0 || out != want {
		t.Fatalf("rococo dlq orders --replay while the service refuses again: %d %q %q, want 0 and %q", code, out, errs, want)
	}
	waitFor(t, func() bool { return refused.Load() == 6 })
	time.Sleep(300 * time.Millisecond)
	if n := refused.Load(); n != 6 {
		t.Errorf("the service got %d messages, want 6 (3, then each replayed once)", n)
	}
	listed(nil, "\n3 message(s) in "+dlq+"; replay with")
}

// TestDLQ_limit_SQS: on SQS, --limit 1 of three says "about" (SQS's
// counts are approximate).
func TestDLQ_limit_SQS(t *testing.T) {
	ws, queue, ep := sqsWorkspace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// One-second polls: the consumer below stops at once.
	tr, err := sqs.New(ctx, sqs.Config{Region: "us-east-1", AccessKeyID: "test", SecretAccessKey: "test-secret", Endpoint: ep, WaitTime: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := tr.Client()
	t.Cleanup(func() {
		for _, q := range []string{queue, rococo.DeadLetterQueue(queue)} {
			if u, err := client.GetQueueUrl(context.Background(), &awssqs.GetQueueUrlInput{QueueName: aws.String(sqs.QueueName(q))}); err == nil {
				_, _ = client.DeleteQueue(context.Background(), &awssqs.DeleteQueueInput{QueueUrl: u.QueueUrl})
			}
		}
	})
	defer tr.Close()
	if err := tr.Publish(ctx, queue, &rococo.Message{Body: []byte(`{"n":0}`)}, &rococo.Message{Body: []byte(`{"n":1}`)}, &rococo.Message{Body: []byte(`{"n":2}`)}); err != nil {
		t.Fatal(err)
	}
	cctx, stop := context.WithCancel(ctx)
	dels, err := tr.Consume(cctx, queue, rococo.ConsumeOptions{Prefetch: 3})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := (<-dels).DeadLetter(ctx, errors.New("boom")); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	dlq := queue + "-dlq"
	for args, want := range map[string]string{
		"--limit 1": "\nlisted 1 of about 3 message(s) in " + dlq + " (--limit 0 lists all); replay with",
		"--limit 0": "\n3 message(s) in " + dlq + "; replay with",
	} {
		code, out, errs := runCLI(t, ws, "", append([]string{"dlq", "reports"}, strings.Fields(args)...)...)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("rococo dlq reports %s: %d\n%s\n%s\nwant %q", args, code, out, errs, want)
		}
	}
}

// refuseEverything consumes queue on tr until the test ends, dead-lettering
// every message at once; it counts them.
func refuseEverything(ctx context.Context, t *testing.T, tr rococo.Transport, queue string) *atomic.Int64 {
	t.Helper()
	cctx, stop := context.WithCancel(ctx)
	dels, err := tr.Consume(cctx, queue, rococo.ConsumeOptions{Prefetch: 10})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for d := range dels {
			if err := d.DeadLetter(ctx, errors.New("refused")); err == nil {
				n.Add(1)
			}
		}
	}()
	t.Cleanup(func() { stop(); <-done })
	return &n
}

// waitFor waits up to 10 s for ok.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}
