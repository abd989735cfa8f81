package rabbitmq

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

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

func msg(body string, headers map[string]string) *rococo.Message {
	return &rococo.Message{Body: []byte(body), Headers: headers}
}

func TestPublishConsumeAck(t *testing.T) {
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)

	if err := tr.Publish(ctx, q, msg(`{"n":1}`, map[string]string{"k": "v"}), msg(`{"n":2}`, nil)); err != nil {
		t.Fatalf("Publish() = %v", err)
	}
	dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 4})
	if err != nil {
		t.Fatalf("Consume() = %v", err)
	}
	for i, want := range []string{`{"n":1}`, `{"n":2}`} {
		d := receive(t, dels)
		m := d.Message()
		if string(m.Body) != want || m.Attempt != 1 || m.Queue != q || m.Redelivered {
			t.Errorf("message %d = body %s attempt %d queue %q redelivered %v, want %s 1 %q false", i, m.Body, m.Attempt, m.Queue, m.Redelivered, want, q)
		}
		if i == 0 && m.Header("k") != "v" {
			t.Errorf("Header(k) = %q, want v", m.Header("k"))
		}
		if err := d.Ack(ctx); err != nil {
			t.Fatalf("Ack() = %v", err)
		}
		if err := d.Ack(ctx); !errors.Is(err, ErrSettled) {
			t.Errorf("second Ack() = %v, want ErrSettled", err)
		}
	}
	if err := tr.Ready(); err != nil {
		t.Errorf("Ready() = %v while consuming", err)
	}
	a.waitCount(q, 0)
}

// TestGoPublishedReadsAsPythonExpects consumes a Go-published message with a
// plain amqp091 consumer and checks what Python rococo (pika) relies on:
// JSON body, persistent, default exchange, routing key = queue, and a
// durable queue without arguments that pika's queue_declare(durable=True)
// accepts.
func TestGoPublishedReadsAsPythonExpects(t *testing.T) {
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)
	body := `{"email":"a@example.com","n":7}`
	if err := tr.Publish(ctx, q, msg(body, map[string]string{"trace": "x"})); err != nil {
		t.Fatalf("Publish() = %v", err)
	}
	// pika: channel.queue_declare(queue=q, durable=True) must not fail.
	if _, err := a.channel().QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatalf("pika-style queue_declare(durable=True) on the Go-declared queue: %v", err)
	}
	d := a.get(q)
	if d.Exchange != "" || d.RoutingKey != q {
		t.Errorf("exchange %q routing key %q, want default exchange and %q", d.Exchange, d.RoutingKey, q)
	}
	if d.DeliveryMode != amqp.Persistent {
		t.Errorf("delivery mode = %d, want 2 (persistent)", d.DeliveryMode)
	}
	if d.ContentType != "application/json" {
		t.Errorf("content type = %q, want application/json", d.ContentType)
	}
	var v map[string]any
	if err := json.Unmarshal(d.Body, &v); err != nil || v["email"] != "a@example.com" {
		t.Errorf("json.loads(body) = %v, %v", v, err)
	}
	if d.Headers["trace"] != "x" {
		t.Errorf("headers = %v, want trace=x", d.Headers)
	}
}

// TestConsumesPythonPublished publishes exactly as Python rococo's
// send_message does with pika (queue_declare durable, basic_publish on the
// default exchange, json.dumps body, BasicProperties(delivery_mode=2), no
// content type, no headers) and consumes it with the transport.
func TestConsumesPythonPublished(t *testing.T) {
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)
	if _, err := a.channel().QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"to": "a@example.com", "subject": "hi"}`) // json.dumps separators
	if err := a.channel().PublishWithContext(ctx, "", q, false, false, amqp.Publishing{DeliveryMode: 2, Body: body}); err != nil {
		t.Fatal(err)
	}
	dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1})
	if err != nil {
		t.Fatalf("Consume() on a pika-declared queue = %v", err)
	}
	d := receive(t, dels)
	var v struct{ To, Subject string }
	if err := d.Message().Decode(&v); err != nil || v.To != "a@example.com" || v.Subject != "hi" {
		t.Fatalf("Decode() = %+v, %v", v, err)
	}
	if d.Message().Attempt != 1 {
		t.Errorf("Attempt = %d, want 1", d.Message().Attempt)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	a.waitCount(q, 0)
}

// TestQueueDeclaredWithOtherArguments shares a queue that someone declared
// with arguments the transport would not set.
func TestQueueDeclaredWithOtherArguments(t *testing.T) {
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)
	if _, err := a.channel().QueueDeclare(q, true, false, false, false, amqp.Table{"x-max-length": int32(1000)}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish(ctx, q, msg(`{}`, nil)); err != nil {
		t.Fatalf("Publish() = %v", err)
	}
	dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1})
	if err != nil {
		t.Fatalf("Consume() = %v", err)
	}
	if err := receive(t, dels).Ack(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRetryComesBackWithoutBlockingOthers(t *testing.T) {
	tr := newTransport(t, testConfig())
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)
	if err := tr.Publish(ctx, q, msg(`"poison"`, map[string]string{"keep": "me"})); err != nil {
		t.Fatal(err)
	}
	dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 2})
	if err != nil {
		t.Fatal(err)
	}
	d := receive(t, dels)
	start := time.Now()
	if err := d.Retry(ctx, 1500*time.Millisecond, errors.New("boom")); err != nil {
		t.Fatalf("Retry() = %v", err)
	}
	if err := d.Ack(ctx); !errors.Is(err, ErrSettled) {
		t.Errorf("Ack() after Retry = %v, want ErrSettled", err)
	}
	// Another message flows while the first waits in the delay queue.
	if err := tr.Publish(ctx, q, msg(`"other"`, nil)); err != nil {
		t.Fatal(err)
	}
	o := receive(t, dels)
	if string(o.Message().Body) != `"other"` {
		t.Fatalf("got %s first, want the other message before the retried one", o.Message().Body)
	}
	if err := o.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	r := receive(t, dels)
	if waited := time.Since(start); waited < 1200*time.Millisecond {
		t.Errorf("retried message back after %v, want about 1.5s", waited)
	}
	m := r.Message()
	if string(m.Body) != `"poison"` || m.Attempt != 2 || m.Header("keep") != "me" || m.Header(rococo.HeaderError) != "boom" {
		t.Errorf("retried message = body %s attempt %d headers %v", m.Body, m.Attempt, m.Headers)
	}
	if err := r.Ack(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestDeadLetterHeaders(t *testing.T) {
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)
	if err := tr.Publish(ctx, q, msg(`{"bad":true}`, map[string]string{"keep": "me"})); err != nil {
		t.Fatal(err)
	}
	dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := receive(t, dels)
	if err := d.Retry(ctx, 0, errors.New("first")); err != nil {
		t.Fatal(err)
	}
	d = receive(t, dels)
	if err := d.DeadLetter(ctx, errors.New("gave up")); err != nil {
		t.Fatalf("DeadLetter() = %v", err)
	}
	got := a.get(rococo.DeadLetterQueue(q))
	want := map[string]any{
		rococo.HeaderError:         "gave up",
		rococo.HeaderAttempt:       int32(2),
		rococo.HeaderOriginalQueue: q,
		"keep":                     "me",
	}
	for k, v := range want {
		if got.Headers[k] != v {
			t.Errorf("dlq header %s = %#v, want %#v", k, got.Headers[k], v)
		}
	}
	if string(got.Body) != `{"bad":true}` || got.DeliveryMode != amqp.Persistent {
		t.Errorf("dlq message body %s mode %d", got.Body, got.DeliveryMode)
	}
	a.waitCount(q, 0)
}

func TestPrefetchBoundsUnsettled(t *testing.T) {
	tr := newTransport(t, testConfig())
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)
	msgs := make([]*rococo.Message, 5)
	for i := range msgs {
		msgs[i] = msg(fmt.Sprint(i), nil)
	}
	if err := tr.Publish(ctx, q, msgs...); err != nil {
		t.Fatal(err)
	}
	dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 2})
	if err != nil {
		t.Fatal(err)
	}
	first := receive(t, dels)
	receive(t, dels)
	noDelivery(t, dels, 300*time.Millisecond)
	if err := first.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	receive(t, dels)
}

// TestCancelStopsIntake checks the shutdown order: after ctx is cancelled
// the channel closes (yielding at most what was already handed out within
// the prefetch), deliveries handed out can still be acked, and the rest of
// the queue stays there.
func TestCancelStopsIntake(t *testing.T) {
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)
	msgs := make([]*rococo.Message, 10)
	for i := range msgs {
		msgs[i] = msg(fmt.Sprint(i), nil)
	}
	if err := tr.Publish(ctx, q, msgs...); err != nil {
		t.Fatal(err)
	}
	const prefetch = 5
	cctx, cancel := context.WithCancel(ctx)
	dels, err := tr.Consume(cctx, q, rococo.ConsumeOptions{Prefetch: prefetch})
	if err != nil {
		t.Fatal(err)
	}
	held := []rococo.Delivery{receive(t, dels)}
	time.Sleep(100 * time.Millisecond) // let the rest of the prefetch arrive
	cancel()
	timeout := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case d, ok := <-dels:
			if ok {
				held = append(held, d)
			}
			open = ok
		case <-timeout:
			t.Fatal("delivery channel not closed within 10s of cancel")
		}
	}
	if len(held) > prefetch {
		t.Errorf("got %d deliveries, more than the prefetch %d", len(held), prefetch)
	}
	for _, d := range held {
		if err := d.Ack(ctx); err != nil {
			t.Fatalf("Ack() after cancel = %v", err)
		}
	}
	a.waitCount(q, 10-len(held))
}

func TestExitWhenFinished(t *testing.T) {
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)
	if err := tr.Publish(ctx, q, msg("1", nil), msg("2", nil), msg("3", nil)); err != nil {
		t.Fatal(err)
	}
	dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1, ExitWhenFinished: true})
	if err != nil {
		t.Fatal(err)
	}
	d := receive(t, dels)
	// A retried message keeps the consumer alive until it came back.
	if err := d.Retry(ctx, 500*time.Millisecond, errors.New("again")); err != nil {
		t.Fatal(err)
	}
	got := 0
	for d := range dels {
		if err := d.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		got++
	}
	if got != 3 {
		t.Errorf("acked %d messages before the channel closed, want 3", got)
	}
	a.waitCount(q, 0)
	for _, dq := range delayQueueNames(q) {
		a.waitCount(dq, 0)
	}
}

// TestExitWhenFinishedWaitsForAnEarlierRunsRetry: a retry that an earlier
// run left in a delay queue keeps a consumer with ExitWhenFinished alive
// until it came back.
func TestExitWhenFinishedWaitsForAnEarlierRunsRetry(t *testing.T) {
	a := newAdmin(t)
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)
	earlier := newTransport(t, testConfig())
	if err := earlier.Publish(ctx, q, msg("1", nil)); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	dels, err := earlier.Consume(cctx, q, rococo.ConsumeOptions{Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := receive(t, dels).Retry(ctx, 2*time.Second, errors.New("again")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := earlier.Close(); err != nil {
		t.Fatal(err)
	}

	later := newTransport(t, testConfig())
	dels, err = later.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1, ExitWhenFinished: true})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for d := range dels {
		if err := d.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		got++
	}
	if got != 1 {
		t.Errorf("the later run acked %d messages before finishing, want the earlier run's retry", got)
	}
	a.waitCount(q, 0)
}

func TestCloseIdempotentAndReady(t *testing.T) {
	tr := newTransport(t, testConfig())
	if err := tr.Ready(); err == nil {
		t.Error("Ready() = nil before connecting")
	}
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)
	dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Ready(); err != nil {
		t.Errorf("Ready() = %v while consuming", err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	waitClosed(t, dels)
	if err := tr.Ready(); !errors.Is(err, ErrClosed) {
		t.Errorf("Ready() after Close = %v, want ErrClosed", err)
	}
	if err := tr.Publish(ctx, q, msg("1", nil)); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish() after Close = %v, want ErrClosed", err)
	}
}

// TestReconnectAfterConnectionLoss cuts the TCP connection under a consumer
// holding an unacked delivery: Ready reports the outage, the held delivery
// can no longer be acked, the transport reconnects by itself and the broker
// redelivers the message marked Redelivered.
func TestReconnectAfterConnectionLoss(t *testing.T) {
	rococotestBroker(t)
	p := newProxy(t)
	cfg := testConfig()
	cfg.Port = p.port()
	var logs rococotest.Buffer
	tr, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	q := queueName(t)
	ctx := ctxTimeout(t, 60*time.Second)
	if err := tr.Publish(ctx, q, msg(`"a"`, nil)); err != nil {
		t.Fatal(err)
	}
	dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	held := receive(t, dels)

	p.cut(true)
	deadline := time.Now().Add(5 * time.Second)
	for tr.Ready() == nil {
		if time.Now().After(deadline) {
			t.Fatal("Ready() = nil after the connection was cut")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second) // several reconnect attempts fail meanwhile
	if err := held.Ack(ctx); err == nil {
		t.Error("Ack() on a delivery from the dead channel = nil, want an error")
	}
	p.cut(false)

	d := receive(t, dels)
	if string(d.Message().Body) != `"a"` || !d.Message().Redelivered {
		t.Errorf("after reconnect got %s redelivered=%v, want \"a\" redelivered", d.Message().Body, d.Message().Redelivered)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	// The publishing connection reconnects on its own backoff.
	deadline = time.Now().Add(10 * time.Second)
	for err := tr.Ready(); err != nil; err = tr.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("Ready() = %v 10s after the consumer reconnected", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tr.Publish(ctx, q, msg(`"b"`, nil)); err != nil {
		t.Fatalf("Publish() after reconnect = %v", err)
	}
	if err := receive(t, dels).Ack(ctx); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	// Two connections (consume, publish): at most one line each.
	if n := strings.Count(out, "rabbitmq connection failed"); n > 2 {
		t.Errorf("logged %d connection failures during one outage, want at most 1 per connection (no flooding):\n%s", n, out)
	}
	if !strings.Contains(out, "rabbitmq reconnected") {
		t.Errorf("log lacks the reconnect:\n%s", out)
	}
}

func TestConcurrentPublish(t *testing.T) {
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	ctx := ctxTimeout(t, 60*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := tr.Publish(ctx, q, msg(fmt.Sprintf(`{"g":%d,"i":%d}`, g, i), nil)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Publish() = %v", err)
	}
	a.waitCount(q, 400)
}

func TestBadCredentialsFailFastWithoutPassword(t *testing.T) {
	rococotestBroker(t)
	const secret = "not-the-Password-42"
	var logs rococotest.Buffer
	cfg := testConfig()
	cfg.Password = secret
	tr, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx := ctxTimeout(t, 20*time.Second)
	_, err = tr.Consume(ctx, queueName(t), rococo.ConsumeOptions{})
	if err == nil {
		t.Fatal("Consume() with a wrong password = nil")
	}
	if ctx.Err() != nil {
		t.Fatalf("Consume() waited for its ctx instead of failing fast: %v", err)
	}
	if rerr := tr.Ready(); rerr == nil || strings.Contains(rerr.Error(), secret) {
		t.Errorf("Ready() = %v", rerr)
	}
	_ = tr.Close()
	out := logs.String()
	for _, s := range []string{err.Error(), out, fmt.Sprint(cfg), cfg.Redacted()} {
		if strings.Contains(s, secret) {
			t.Errorf("password leaked in %q", s)
		}
	}
	if !strings.Contains(cfg.Redacted(), "guest:xxxxx@127.0.0.1:5672") {
		t.Errorf("Redacted() = %q", cfg.Redacted())
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"port too big", Config{Port: 70000}, false},
		{"negative port", Config{Port: -1}, false},
		{"host with slash", Config{Host: "a/b"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(tc.cfg, nil)
			if (err == nil) != tc.ok {
				t.Fatalf("New(%+v) error = %v, want ok=%v", tc.cfg, err, tc.ok)
			}
			if tr != nil {
				_ = tr.Close()
			}
		})
	}
}

func TestAttemptOf(t *testing.T) {
	tests := []struct {
		name string
		h    amqp.Table
		want int
	}{
		{"absent", nil, 1},
		{"int32", amqp.Table{rococo.HeaderAttempt: int32(3)}, 3},
		{"int64", amqp.Table{rococo.HeaderAttempt: int64(4)}, 4},
		{"string", amqp.Table{rococo.HeaderAttempt: "5"}, 5},
		{"bytes", amqp.Table{rococo.HeaderAttempt: []byte("6")}, 6},
		{"garbage", amqp.Table{rococo.HeaderAttempt: "x"}, 1},
		{"zero", amqp.Table{rococo.HeaderAttempt: int32(0)}, 1},
		{"negative", amqp.Table{rococo.HeaderAttempt: int32(-2)}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := attemptOf(tc.h); got != tc.want {
				t.Errorf("attemptOf(%v) = %d, want %d", tc.h, got, tc.want)
			}
		})
	}
}

func TestStringHeaders(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	got := stringHeaders(amqp.Table{
		"s": "v", "b": []byte("raw"), "i": int32(7), "f": true, "t": ts,
		"x-death": []any{amqp.Table{"count": int64(1)}}, "tbl": amqp.Table{}, "nil": nil,
	})
	want := map[string]string{"s": "v", "b": "raw", "i": "7", "f": "true", "t": "2026-01-02T03:04:05Z"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stringHeaders() = %v, want %v", got, want)
	}
	if stringHeaders(nil) != nil {
		t.Error("stringHeaders(nil) != nil")
	}
}

// TestPublishConfirmedWhenReturnsClosed: when a publishing channel shuts down
// right after the broker confirmed a batch, the library closes the channel's
// return notifications. A closed notification channel is no returned
// message: Publish (and so Retry and DeadLetter, which would requeue the
// original and duplicate it) must report the confirmed batch as sent.
func TestPublishConfirmedWhenReturnsClosed(t *testing.T) {
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)
	if err := tr.Publish(ctx, q, msg(`{"n":1}`, nil)); err != nil {
		t.Fatalf("Publish() = %v", err)
	}
	var pc *pubChannel
	select {
	case pc = <-tr.pool:
	case <-time.After(5 * time.Second):
		t.Fatal("no pooled publishing channel")
	}
	closed := make(chan amqp.Return)
	close(closed) // as the library leaves it once the channel shut down
	pc.returns = closed
	tr.pool <- pc
	if err := tr.Publish(ctx, q, msg(`{"n":2}`, nil)); err != nil {
		t.Errorf("Publish() of a confirmed message = %v, want nil", err)
	}
	a.waitCount(q, 2)
}
