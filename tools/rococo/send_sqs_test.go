package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/rococotest"
	"github.com/rococo-go/rococo/rococo/sqs"
)

// TestSend_and_DLQ_SQS is TestSend_and_DLQ on the SQS server at
// AWS_ENDPOINT_URL_SQS (default that of .ci/fauxqs.sh).
func TestSend_and_DLQ_SQS(t *testing.T) {
	ws, queue, ep := sqsWorkspace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg, err := config.Load([]string{"MESSAGING_TYPE=SqsConnection", "PROCESSOR_TYPE=P", "P_QUEUE_NAME=" + queue, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test-secret", "AWS_ENDPOINT_URL_SQS=" + ep}, "")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := sqs.FromEnv(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tc.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := tr.(*sqs.Transport).Client()
	t.Cleanup(func() {
		for _, q := range []string{queue, rococo.DeadLetterQueue(queue)} {
			if u, err := client.GetQueueUrl(context.Background(), &awssqs.GetQueueUrlInput{QueueName: aws.String(sqs.QueueName(q))}); err == nil {
				_, _ = client.DeleteQueue(context.Background(), &awssqs.DeleteQueueInput{QueueUrl: u.QueueUrl})
			}
		}
		_ = tr.Close()
	})

	if code, out, errs := runCLI(t, ws, "", "send", "reports", `{"name": ""}`); code != 0 || !strings.Contains(out, "(SqsConnection)") {
		t.Fatalf("send: %d %q %q", code, out, errs)
	}
	cctx, stop := context.WithCancel(ctx)
	dels, err := tr.Consume(cctx, queue, rococo.ConsumeOptions{Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := (<-dels).DeadLetter(ctx, errors.New("request has no name")); err != nil {
		t.Fatal(err)
	}
	stop()
	code, out, errs := runCLI(t, ws, "", "dlq", "reports")
	if code != 0 || !strings.Contains(out, "request has no name") || !strings.Contains(out, "1 message(s) in "+queue+"-dlq") {
		t.Fatalf("dlq: %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, ws, "", "dlq", "reports", "--replay"); code != 0 || !strings.Contains(out, "replayed 1 message(s)") {
		t.Fatalf("replay: %d %q %q", code, out, errs)
	}
	if code, out, _ := runCLI(t, ws, "", "dlq", "reports"); code != 0 || !strings.Contains(out, "is empty") {
		t.Errorf("dlq after the replay: %d %q", code, out)
	}
}

// sqsWorkspace is a fake workspace with an SQS service, reports, on a queue
// of its own of the SQS server at AWS_ENDPOINT_URL_SQS (default that of
// .ci/fauxqs.sh), which its .env.local points at; it skips without the
// server (fails with CI=true).
func sqsWorkspace(t *testing.T) (ws, queue, endpoint string) {
	t.Helper()
	ep := os.Getenv("AWS_ENDPOINT_URL_SQS")
	if ep == "" {
		ep = "http://127.0.0.1:4566"
	}
	u, err := url.Parse(ep)
	if err != nil {
		t.Fatal(err)
	}
	rococotest.RequireBroker(t, u.Host)
	ws = fakeWorkspace(t)
	queue = fmt.Sprintf("rococo-cli-test-%d", time.Now().UnixNano())
	dir := filepath.Join(ws, "services", "reports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	build := "rococo_service(\n    name = \"reports\",\n    env = {\"AWS_REGION\": \"us-east-1\", \"ReportsProcessor_QUEUE_NAME\": \"" + queue + "\"},\n    messaging_type = \"SqsConnection\",\n    processor_type = \"ReportsProcessor\",\n)\n"
	dotenv := "AWS_ENDPOINT_URL_SQS=" + ep + "\nAWS_ACCESS_KEY_ID=test\nAWS_SECRET_ACCESS_KEY=test-secret\n"
	for name, content := range map[string]string{"BUILD.bazel": build, ".env.local": dotenv} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ws, queue, ep
}
