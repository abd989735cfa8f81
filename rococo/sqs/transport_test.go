package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/transporttest"
)

// TestContract runs the shared transport contract suite against fauxqs.
func TestContract(t *testing.T) {
	testEndpoint(t)
	// A visibility timeout of 3 s brings a delivery whose transport closed
	// without settling it back soon (the Crash case); the heartbeat keeps
	// the others invisible while they are held.
	newTransport := func(t *testing.T) rococo.Transport {
		return newTestTransportWith(t, func(c *Config) { c.VisibilityTimeout = 3 * time.Second })
	}
	transporttest.Run(t, newTransport, transporttest.Features{
		// Visibility timeouts count whole seconds.
		RetryDelay:          time.Second,
		RetryDelayPrecision: 100 * time.Millisecond,
		Timeout:             15 * time.Second,
		QuietPeriod:         time.Second,
		// A killed process settles nothing: Close stops the heartbeat and
		// leaves the delivery handed out unsettled, so it comes back after
		// its visibility timeout, received a second time.
		Crash: func(t *testing.T, tr rococo.Transport) {
			if err := tr.Close(); err != nil {
				t.Fatalf("Close() = %v", err)
			}
		},
	})
}

// TestPythonCompatibility: a body sent as Python rococo sends it (boto3
// send_message with MessageBody=json.dumps(message), no attributes) is
// consumed as that JSON, and a Go-published message is a plain JSON body to a
// plain receive.
func TestPythonCompatibility(t *testing.T) {
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	u, err := tr.queueURL(testCtx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	// json.dumps({"to": "a@example.com", "n": 1, "name": "Zoë"}) with
	// Python's default separators and ensure_ascii.
	pyBody := `{"to": "a@example.com", "n": 1, "name": "Zo\u00eb"}`
	if _, err := tr.client.SendMessage(testCtx(t), &awssqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String(pyBody)}); err != nil {
		t.Fatalf("SendMessage = %v", err)
	}
	ch, cancel := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	d := next(t, ch, "python message")
	var got struct {
		To   string `json:"to"`
		N    int    `json:"n"`
		Name string `json:"name"`
	}
	if err := d.Message().Decode(&got); err != nil {
		t.Fatalf("Decode = %v", err)
	}
	if got.To != "a@example.com" || got.N != 1 || got.Name != "Zoë" {
		t.Errorf("decoded %+v", got)
	}
	if string(d.Message().Body) != pyBody {
		t.Errorf("Body = %q, want %q", d.Message().Body, pyBody)
	}
	if err := d.Ack(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	cancel()

	// Go -> Python: what a plain receive (boto3's receive_message) sees.
	body := `{"report":"daily","rows":3}`
	if err := tr.Publish(testCtx(t), q, &rococo.Message{Body: []byte(body), Headers: map[string]string{"trace-id": "t1"}}); err != nil {
		t.Fatal(err)
	}
	out, err := tr.client.ReceiveMessage(testCtx(t), &awssqs.ReceiveMessageInput{
		QueueUrl: aws.String(u), WaitTimeSeconds: 5, MessageAttributeNames: []string{"All"},
	})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("ReceiveMessage = %v, %d messages", err, len(out.Messages))
	}
	m := out.Messages[0]
	if aws.ToString(m.Body) != body {
		t.Errorf("plain receive Body = %q, want %q", aws.ToString(m.Body), body)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &v); err != nil {
		t.Errorf("body is not JSON to a plain reader: %v", err)
	}
	if a := m.MessageAttributes["trace-id"]; aws.ToString(a.DataType) != "String" || aws.ToString(a.StringValue) != "t1" {
		t.Errorf("attribute trace-id = %+v, want String t1", a)
	}
}

// TestPublishBatch: more messages than one batch holds, and messages big
// enough that the 256 KiB batch limit splits batches, all arrive once.
func TestPublishBatch(t *testing.T) {
	tests := []struct {
		name string
		n    int
		size int
	}{
		{"one", 1, 10},
		{"many small", 25, 10},
		{"large", 12, 100 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestTransport(t)
			q := transporttest.QueueName(t)
			msgs := make([]*rococo.Message, tc.n)
			pad := strings.Repeat("x", tc.size)
			for i := range msgs {
				msgs[i] = &rococo.Message{Body: fmt.Appendf(nil, `{"i":%d,"pad":%q}`, i, pad), Headers: map[string]string{"i": fmt.Sprint(i)}}
			}
			if err := tr.Publish(testCtx(t), q, msgs...); err != nil {
				t.Fatalf("Publish = %v", err)
			}
			ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 10, ExitWhenFinished: true})
			seen := map[string]int{}
			for d := range ch {
				var b struct{ I int }
				if err := d.Message().Decode(&b); err != nil {
					t.Fatal(err)
				}
				if h := d.Message().Header("i"); h != fmt.Sprint(b.I) {
					t.Errorf("message %d: header i = %q", b.I, h)
				}
				seen[fmt.Sprint(b.I)]++
				if err := d.Ack(testCtx(t)); err != nil {
					t.Fatal(err)
				}
			}
			if len(seen) != tc.n {
				t.Errorf("received %d distinct messages, want %d", len(seen), tc.n)
			}
			for k, c := range seen {
				if c != 1 {
					t.Errorf("message %s received %d times", k, c)
				}
			}
		})
	}
}

// TestPublishErrors: refused entries are named; invalid headers fail before
// anything is sent.
func TestPublishErrors(t *testing.T) {
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	// U+FFFF is valid JSON and a character SQS refuses.
	bodies := []string{`{"ok":0}`, "{\"bad\":\"\uffff\"}", `{"ok":2}`}
	msgs := make([]*rococo.Message, len(bodies))
	for i, b := range bodies {
		msgs[i] = &rococo.Message{Body: []byte(b)}
	}
	err := tr.Publish(testCtx(t), q, msgs...)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 messages refused") || !strings.Contains(err.Error(), "message 1: InvalidMessageContents") {
		t.Errorf("Publish with one invalid body = %v, want it to name message 1", err)
	}
	if v, _ := queueCounts(t, tr, q); v != "2" {
		t.Errorf("%s messages in the queue, want the 2 valid ones", v)
	}

	// A body that is not JSON is refused before anything is sent (a Python
	// consumer would crash on it); Python's NaN and Infinity are JSON.
	for _, body := range []string{`not json`, `{"a":`, ``, "{\"bad\":\"\x01\"}"} {
		for _, n := range []int{1, 2} {
			msgs := []*rococo.Message{{Body: []byte(body)}, {Body: []byte(`{}`)}}[:n]
			if err := tr.Publish(testCtx(t), q, msgs...); err == nil || !strings.Contains(err.Error(), "message 0 (nothing sent)") || !strings.Contains(err.Error(), "not valid JSON") {
				t.Errorf("Publish(%q) of %d = %v, want it to name message 0 as not valid JSON", body, n, err)
			}
		}
	}
	if v, _ := queueCounts(t, tr, q); v != "2" {
		t.Errorf("%s messages in the queue after refused publishes, want still 2", v)
	}
	publish(t, tr, q, `{"x": NaN, "y": -Infinity}`)

	headerTests := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"empty value", map[string]string{"k": ""}, `header "k" is empty`},
		{"too many", func() map[string]string {
			h := map[string]string{}
			for i := range 11 {
				h[fmt.Sprint("h", i)] = "v"
			}
			return h
		}(), "at most 10 message attributes"},
	}
	for _, tc := range headerTests {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []int{1, 2} {
				msgs := make([]*rococo.Message, n)
				for i := range msgs {
					msgs[i] = &rococo.Message{Body: []byte(`{}`), Headers: tc.headers}
				}
				if err := tr.Publish(testCtx(t), q, msgs...); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Publish of %d = %v, want %q", n, err, tc.want)
				}
			}
		})
	}
}

// TestRedeliveredAndAttempt: a retry comes back as a copy with Attempt one
// higher, the same ID and not Redelivered; a message whose visibility
// timeout ran out unsettled comes back Redelivered, at the next attempt.
func TestRedeliveredAndAttempt(t *testing.T) {
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	publish(t, tr, q, `{"x":1}`)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	d := next(t, ch, "first")
	if m := d.Message(); m.Attempt != 1 || m.Redelivered || m.ID == "" || m.Queue != q {
		t.Errorf("first delivery: Attempt %d Redelivered %v ID %q Queue %q", m.Attempt, m.Redelivered, m.ID, m.Queue)
	}
	if err := d.Retry(testCtx(t), 0, errors.New("again")); err != nil {
		t.Fatal(err)
	}
	d2 := next(t, ch, "second")
	if m := d2.Message(); m.Attempt != 2 || m.Redelivered || m.ID != d.Message().ID {
		t.Errorf("second delivery: Attempt %d Redelivered %v ID %q, want 2, false, %q", m.Attempt, m.Redelivered, m.ID, d.Message().ID)
	}
	if err := d2.Ack(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := d2.Ack(testCtx(t)); !errors.Is(err, errSettled) {
		t.Errorf("second Ack = %v, want errSettled", err)
	}
}

// TestHeartbeatKeepsMessageInvisible: a delivery held for three times the
// visibility timeout is not delivered to anybody meanwhile, and after its
// ack the queue is empty.
func TestHeartbeatKeepsMessageInvisible(t *testing.T) {
	const vt = 2 * time.Second
	tr := newTestTransportWith(t, func(c *Config) { c.VisibilityTimeout = vt })
	q := transporttest.QueueName(t)
	publish(t, tr, q, `{"slow":true}`)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	d := next(t, ch, "slow message")

	// A second consumer (another process, in effect) watches the queue the
	// whole time.
	other := newTestTransportWith(t, func(c *Config) { c.VisibilityTimeout = vt })
	och, _ := consume(t, other, q, rococo.ConsumeOptions{Prefetch: 1})
	start := time.Now()
	select {
	case od := <-och:
		t.Fatalf("message delivered again after %v while held (attempt %d)", time.Since(start), od.Message().Attempt)
	case <-time.After(3 * vt):
	}
	if err := d.Ack(testCtx(t)); err != nil {
		t.Fatalf("Ack after 3x visibility timeout = %v", err)
	}
	select {
	case od := <-och:
		t.Fatalf("message delivered after the ack (attempt %d)", od.Message().Attempt)
	case <-time.After(vt + time.Second):
	}
	requireEmpty(t, tr, q)
}

// TestHeartbeatStopsOnSettle: once retried, the message comes back after the
// retry delay, not later (the heartbeat does not extend it again).
func TestHeartbeatStopsOnSettle(t *testing.T) {
	const vt = 2 * time.Second
	tr := newTestTransportWith(t, func(c *Config) { c.VisibilityTimeout = vt })
	q := transporttest.QueueName(t)
	publish(t, tr, q, `{"r":1}`)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	d := next(t, ch, "first")
	time.Sleep(vt) // let the heartbeat extend it at least once
	start := time.Now()
	if err := d.Retry(testCtx(t), time.Second, errors.New("retry")); err != nil {
		t.Fatal(err)
	}
	d2 := next(t, ch, "retried")
	if el := time.Since(start); el > vt+time.Second {
		t.Errorf("retry with delay 1s came back after %v", el)
	}
	if err := d2.Ack(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// TestExitWhenFinishedWaitsForDelayedRetry: a retry waiting out its delay is
// still in the queue, so an ExitWhenFinished consumer waits for it.
func TestExitWhenFinishedWaitsForDelayedRetry(t *testing.T) {
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	publish(t, tr, q, `{"later":true}`)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1, ExitWhenFinished: true})
	d := next(t, ch, "first")
	if err := d.Retry(testCtx(t), 3*time.Second, errors.New("later")); err != nil {
		t.Fatal(err)
	}
	d2 := next(t, ch, "retried message (the consumer must not exit before it)")
	if d2.Message().Attempt != 2 {
		t.Errorf("Attempt = %d, want 2", d2.Message().Attempt)
	}
	if err := d2.Ack(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("unexpected delivery")
		}
	case <-time.After(testTimeout):
		t.Fatal("channel not closed after the last ack")
	}
}

// TestConcurrentAcksBatched: many deliveries acked at once are all deleted.
func TestConcurrentAcksBatched(t *testing.T) {
	const n = 200
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = fmt.Sprintf(`{"i":%d}`, i)
	}
	publish(t, tr, q, bodies...)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 32, ExitWhenFinished: true})
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]bool{}
	for d := range ch {
		wg.Go(func() {
			if err := d.Ack(testCtx(t)); err != nil {
				t.Errorf("Ack = %v", err)
			}
			mu.Lock()
			seen[string(d.Message().Body)] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("acked %d distinct messages, want %d", len(seen), n)
	}
	requireEmpty(t, tr, q)
}

// TestDeadLetterKeepsAttributes: the dead-letter copy keeps the original
// message attributes next to the rococo headers, in the SQS-named DLQ.
func TestDeadLetterKeepsAttributes(t *testing.T) {
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	if err := tr.Publish(testCtx(t), q, &rococo.Message{Body: []byte(`{"p":1}`), Headers: map[string]string{"tenant": "acme"}}); err != nil {
		t.Fatal(err)
	}
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	d := next(t, ch, "poison")
	if err := d.DeadLetter(testCtx(t), rococo.Permanent(errors.New("bad \x00 input"))); err != nil {
		t.Fatal(err)
	}
	u, err := tr.queueURL(testCtx(t), rococo.DeadLetterQueue(q))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(u, "/"+q+"-dlq") {
		t.Errorf("DLQ URL %q, want the SQS name %s-dlq", u, q)
	}
	out, err := tr.client.ReceiveMessage(testCtx(t), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(u), WaitTimeSeconds: 5, MessageAttributeNames: []string{"All"}})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive from DLQ = %v, %d messages", err, len(out.Messages))
	}
	attrs := out.Messages[0].MessageAttributes
	want := map[string]string{
		"tenant":                   "acme",
		rococo.HeaderAttempt:       "1",
		rococo.HeaderOriginalQueue: q,
		rococo.HeaderError:         "permanent: bad \uFFFD input",
	}
	for k, v := range want {
		if got := aws.ToString(attrs[k].StringValue); got != v {
			t.Errorf("DLQ attribute %q = %q, want %q", k, got, v)
		}
	}
	requireEmpty(t, tr, q)
}

// TestSettleAfterClose: Close stops consuming; settling afterwards reports
// ErrClosed and the message stays in the queue.
func TestSettleAfterClose(t *testing.T) {
	ctx := testCtx(t)
	tr, err := New(ctx, testConfig(t), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	q := transporttest.QueueName(t)
	publish(t, tr, q, `{"c":1}`)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	d := next(t, ch, "delivery")
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Error("channel open after Close")
	}
	if err := d.Ack(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ack after Close = %v, want ErrClosed", err)
	}
	if err := tr.Ready(); !errors.Is(err, ErrClosed) {
		t.Errorf("Ready after Close = %v, want ErrClosed", err)
	}
	if _, err := tr.Consume(ctx, q, rococo.ConsumeOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Consume after Close = %v, want ErrClosed", err)
	}
	if err := tr.Publish(ctx, q, &rococo.Message{Body: []byte(`{}`)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	other := newTestTransport(t)
	if _, nv := queueCounts(t, other, q); nv != "1" {
		t.Errorf("%s messages in flight, want the unsettled one", nv)
	}
}

// TestQueueRecreated: a consumer whose queue is deleted under it (a local
// server restarted empty) re-creates it and goes on.
func TestQueueRecreated(t *testing.T) {
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	u, err := tr.queueURL(testCtx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.client.DeleteQueue(testCtx(t), &awssqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testTimeout)
	for {
		// Publish through another transport, so its lookup does not use
		// the cached URL.
		other := newTestTransport(t)
		publish(t, other, q, `{"after":"recreate"}`)
		select {
		case d := <-ch:
			if string(d.Message().Body) != `{"after":"recreate"}` {
				t.Errorf("Body = %q", d.Message().Body)
			}
			if err := d.Ack(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			if err := tr.Ready(); err != nil {
				t.Errorf("Ready() = %v after recovering", err)
			}
			return
		case <-time.After(2 * time.Second):
		}
		if time.Now().After(deadline) {
			t.Fatal("consumer did not recover after its queue was deleted")
		}
	}
}

// TestConsumeUnreachable: with nothing listening, Consume retries until its
// ctx ends, and Ready says why.
func TestConsumeUnreachable(t *testing.T) {
	ctx := testCtx(t)
	tr, err := New(ctx, Config{Region: "us-east-1", AccessKeyID: "test", SecretAccessKey: "x", Endpoint: "http://127.0.0.1:1"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	cctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	_, err = tr.Consume(cctx, "unreachable", rococo.ConsumeOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Consume = %v, want the ctx deadline", err)
	}
	if err := tr.Ready(); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("Ready() = %v, want the lookup error", err)
	}
}

// TestNewConfigErrors covers configuration that New refuses, without
// touching the network.
func TestNewConfigErrors(t *testing.T) {
	// Keep the SDK's default chain from finding anything on this machine.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"key without secret", Config{Region: "eu-west-1", AccessKeyID: "AKIA"}, "set both AWS_ACCESS_KEY_ID"},
		{"secret without key", Config{Region: "eu-west-1", SecretAccessKey: "s"}, "set both AWS_ACCESS_KEY_ID"},
		{"no region", Config{AccessKeyID: "AKIA", SecretAccessKey: "s"}, "no AWS region"},
		{"no credentials", Config{Region: "eu-west-1"}, "no AWS credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := New(ctx, tc.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%+v) = %v, want %q", tc.cfg.LogValue(), err, tc.want)
			}
		})
	}
	// An endpoint without a region works (local servers take any region).
	tr, err := New(context.Background(), Config{AccessKeyID: "a", SecretAccessKey: "s", Endpoint: "http://127.0.0.1:1"}, nil)
	if err != nil {
		t.Fatalf("New with endpoint and no region = %v", err)
	}
	tr.Close()
}

// TestReadyBeforeConsume: a fresh transport is ready; SQS has no
// connection to lose before the first receive.
func TestReadyBeforeConsume(t *testing.T) {
	if err := newTestTransport(t).Ready(); err != nil {
		t.Errorf("Ready() = %v", err)
	}
}

// TestDeleteFailureSurfaced: a delete SQS refuses even after retries is
// logged at error level with the message id, not dropped in silence.
func TestDeleteFailureSurfaced(t *testing.T) {
	tr := newTestTransport(t)
	u, err := tr.queueURL(testCtx(t), transporttest.QueueName(t))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	// Deleting from a queue that does not exist fails the whole batch.
	d := newDeleter(tr.client, u+"-missing", slog.New(slog.NewTextHandler(&logs, nil)), minDeleteWorkers)
	defer d.close()
	if err := d.enqueue(testCtx(t), "receipt-1", "msg-1"); err != nil {
		t.Fatalf("enqueue = %v", err)
	}
	d.drain(testCtx(t))
	if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "delete failed") || !strings.Contains(out, "msg-1") {
		t.Errorf("log = %q, want an error naming msg-1", out)
	}
	d.close()
	if err := d.enqueue(testCtx(t), "receipt-2", "msg-2"); !errors.Is(err, ErrClosed) {
		t.Errorf("enqueue after close = %v, want ErrClosed", err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestGiveBackOnCancel: messages received but not handed out when the
// consumer stops are visible again at once.
func TestGiveBackOnCancel(t *testing.T) {
	tr := newTestTransportWith(t, func(c *Config) { c.VisibilityTimeout = 60 * time.Second })
	q := transporttest.QueueName(t)
	publish(t, tr, q, `{"a":1}`, `{"a":2}`, `{"a":3}`)
	ch, cancel := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 3})
	d := next(t, ch, "first")
	// Give the loop time to block on handing out the next one, then stop.
	time.Sleep(200 * time.Millisecond)
	cancel()
	for raced := range ch {
		// Handed out just as the cancel came: settle it back to the queue.
		if err := raced.Retry(testCtx(t), 0, errors.New("raced the cancel")); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Ack(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	// Messages handed out but unsettled stay in flight; the others were
	// given back, so a new consumer gets them well before 60 s.
	ch2, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 3, ExitWhenFinished: false})
	got := 0
	timeout := time.After(5 * time.Second)
	for got < 2 {
		select {
		case d := <-ch2:
			got++
			if err := d.Ack(testCtx(t)); err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			t.Fatalf("got %d of the 2 messages not handed out, want them back at once", got)
		}
	}
}

// TestDeadLetterAttributes checks the attribute set of a dead-letter copy.
func TestDeadLetterAttributes(t *testing.T) {
	str := func(v string) types.MessageAttributeValue { return stringAttribute(v) }
	many := map[string]types.MessageAttributeValue{}
	for i := range 9 {
		many[fmt.Sprintf("a%d", i)] = str("v")
	}
	tests := []struct {
		name        string
		orig        map[string]types.MessageAttributeValue
		cause       error
		wantKeys    int
		wantDropped []string
		wantErr     string
	}{
		{"none", nil, errors.New("boom"), 3, nil, "boom"},
		{"nil cause", nil, nil, 3, nil, "unknown error"},
		{"keeps originals", map[string]types.MessageAttributeValue{"t": str("x"), "n": {DataType: aws.String("Number"), StringValue: aws.String("1")}}, errors.New("e"), 5, nil, "e"},
		{"replaces earlier rococo headers", map[string]types.MessageAttributeValue{rococo.HeaderError: str("old"), rococo.HeaderAttempt: str("9")}, errors.New("new"), 3, nil, "new"},
		{"drops beyond ten", many, errors.New("e"), 10, []string{"a7", "a8"}, "e"},
		{"long error cut", nil, errors.New(strings.Repeat("é", 5000)), 3, nil, strings.Repeat("é", (maxErrorBytes-len("…"))/2) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attrs, dropped := deadLetterAttributes(tc.orig, tc.cause, 4, "orders")
			if len(attrs) != tc.wantKeys {
				t.Errorf("%d attributes, want %d", len(attrs), tc.wantKeys)
			}
			if fmt.Sprint(dropped) != fmt.Sprint(tc.wantDropped) {
				t.Errorf("dropped %v, want %v", dropped, tc.wantDropped)
			}
			if got := aws.ToString(attrs[rococo.HeaderError].StringValue); got != tc.wantErr {
				t.Errorf("error attribute = %.40q (%d bytes), want %.40q (%d bytes)", got, len(got), tc.wantErr, len(tc.wantErr))
			}
			if got := aws.ToString(attrs[rococo.HeaderAttempt].StringValue); got != "4" {
				t.Errorf("attempt attribute = %q", got)
			}
			if got := aws.ToString(attrs[rococo.HeaderOriginalQueue].StringValue); got != "orders" {
				t.Errorf("original queue attribute = %q", got)
			}
			for k, v := range tc.orig {
				if strings.HasPrefix(k, "x-rococo-") || contains(dropped, k) {
					continue
				}
				if got := attrs[k]; aws.ToString(got.StringValue) != aws.ToString(v.StringValue) || aws.ToString(got.DataType) != aws.ToString(v.DataType) {
					t.Errorf("attribute %q = %+v, want %+v", k, got, v)
				}
			}
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestVisibilitySeconds checks rounding and the 12 h cap.
func TestVisibilitySeconds(t *testing.T) {
	tests := []struct {
		want, age time.Duration
		secs      int32
	}{
		{0, 0, 0},
		{300 * time.Millisecond, 0, 1},
		{time.Second, 0, 1},
		{1500 * time.Millisecond, time.Minute, 2},
		{30 * time.Second, 0, 30},
		{24 * time.Hour, 0, 43199},
		{time.Hour, 11*time.Hour + 59*time.Minute + 30*time.Second, 29},
		{time.Hour, 13 * time.Hour, 0},
	}
	for _, tc := range tests {
		if got := visibilitySeconds(tc.want, tc.age); got != tc.secs {
			t.Errorf("visibilitySeconds(%v, %v) = %d, want %d", tc.want, tc.age, got, tc.secs)
		}
	}
}

// TestSanitize checks attribute values SQS would refuse.
func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"tab\tnl\ncr\r", "tab\tnl\ncr\r"},
		{"nul\x00bell\x07", "nul\uFFFDbell\uFFFD"},
		{"bad utf8 \xff", "bad utf8 \uFFFD"},
		{"\uFFFE", "\uFFFD"},
		{"emoji 😀", "emoji 😀"},
	}
	for _, tc := range tests {
		if got := sanitize(tc.in, 100); got != tc.want {
			t.Errorf("sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestConfigLogValueHidesSecret: the secret key never reaches a log.
func TestConfigLogValueHidesSecret(t *testing.T) {
	cfg := Config{Region: "eu-west-1", AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/SECRET", Endpoint: "http://127.0.0.1:4566"}
	var b strings.Builder
	logger := slogTextLogger(&b)
	logger.Info("config", "cfg", cfg)
	if strings.Contains(b.String(), "SECRET") {
		t.Errorf("log line contains the secret: %s", b.String())
	}
	if !strings.Contains(b.String(), "AKIAEXAMPLE") {
		t.Errorf("log line lacks the key id: %s", b.String())
	}
}

// TestPublishNothing: publishing no message sends nothing and succeeds.
func TestPublishNothing(t *testing.T) {
	tr, err := New(context.Background(), Config{Region: "us-east-1", AccessKeyID: "a", SecretAccessKey: "s", Endpoint: "http://127.0.0.1:1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Publish(context.Background(), "q"); err != nil {
		t.Errorf("Publish() of nothing = %v", err)
	}
}

// TestCloseFlushesDeletes: a delete queued by Ack just before Close is sent
// by Close, even while another delivery is still unsettled.
func TestCloseFlushesDeletes(t *testing.T) {
	ctx := testCtx(t)
	tr, err := New(ctx, testConfig(t), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	q := transporttest.QueueName(t)
	publish(t, tr, q, `{"n":1}`, `{"n":2}`)
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 2})
	d1, d2 := next(t, ch, "first"), next(t, ch, "second")
	if err := d1.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	other := newTestTransport(t)
	if v, nv := queueCounts(t, other, q); v != "0" || nv != "1" {
		t.Errorf("after Close: %s visible, %s in flight; want only the unsettled %q in flight", v, nv, d2.Message().Body)
	}
}
