package sqs

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

// defaultEndpoint is where .ci/fauxqs.sh starts fauxqs.
const defaultEndpoint = "http://127.0.0.1:4566"

// testTimeout bounds every wait in these tests.
const testTimeout = 20 * time.Second

// testEndpoint returns AWS_ENDPOINT_URL_SQS (default the fauxqs address of
// .ci/fauxqs.sh) after checking that something listens there: the test is
// skipped when nothing does, and fails when CI=true.
func testEndpoint(t testing.TB) string {
	t.Helper()
	ep := os.Getenv("AWS_ENDPOINT_URL_SQS")
	if ep == "" {
		ep = defaultEndpoint
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		t.Fatalf("AWS_ENDPOINT_URL_SQS=%q is not a URL: %v", ep, err)
	}
	rococotest.RequireBroker(t, u.Host)
	return ep
}

// testConfig is the Config the tests use: the local endpoint with dummy
// static credentials, and one-second long polls.
func testConfig(t testing.TB) Config {
	return Config{Region: "us-east-1", AccessKeyID: "test", SecretAccessKey: "test-secret", Endpoint: testEndpoint(t), WaitTime: time.Second}
}

func slogTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// newTestTransport returns a Transport on the test server, closed when the
// test ends.
func newTestTransport(t testing.TB) *Transport {
	t.Helper()
	return newTestTransportWith(t, func(*Config) {})
}

// newTestTransportWith is newTestTransport with testConfig changed by edit.
func newTestTransportWith(t testing.TB, edit func(*Config)) *Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cfg := testConfig(t)
	edit(&cfg)
	tr, err := New(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// consume starts a consumer stopped when the test ends.
func consume(t testing.TB, tr *Transport, queue string, opts rococo.ConsumeOptions) (<-chan rococo.Delivery, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := tr.Consume(ctx, queue, opts)
	if err != nil {
		t.Fatalf("Consume(%q) = %v", queue, err)
	}
	return ch, cancel
}

func next(t testing.TB, ch <-chan rococo.Delivery, what string) rococo.Delivery {
	t.Helper()
	select {
	case d, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed", what)
		}
		return d
	case <-time.After(testTimeout):
		t.Fatalf("%s: no delivery within %v", what, testTimeout)
	}
	return nil
}

func publish(t testing.TB, tr *Transport, queue string, bodies ...string) {
	t.Helper()
	msgs := make([]*rococo.Message, len(bodies))
	for i, b := range bodies {
		msgs[i] = &rococo.Message{Body: []byte(b)}
	}
	if err := tr.Publish(testCtx(t), queue, msgs...); err != nil {
		t.Fatalf("Publish(%q) = %v", queue, err)
	}
}

// queueCounts returns the visible and not-visible message counts of queue.
func queueCounts(t testing.TB, tr *Transport, queue string) (visible, notVisible string) {
	t.Helper()
	u, err := tr.queueURL(testCtx(t), queue)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tr.client.GetQueueAttributes(testCtx(t), &awssqs.GetQueueAttributesInput{
		QueueUrl: aws.String(u),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes(%q) = %v", queue, err)
	}
	return out.Attributes["ApproximateNumberOfMessages"], out.Attributes["ApproximateNumberOfMessagesNotVisible"]
}

// requireEmpty fails unless queue holds no message at all within a few
// seconds (deletes are sent in the background).
func requireEmpty(t testing.TB, tr *Transport, queue string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, nv := queueCounts(t, tr, queue)
		if v == "0" && nv == "0" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("queue %q: %s visible, %s in flight; want empty", queue, v, nv)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
