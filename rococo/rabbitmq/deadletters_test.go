package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

// TestDeadLetters_list_and_replay dead-letters three messages through the
// transport, lists them (error and attempt, nothing removed), replays one by
// id, then the rest, and finds each back in the queue exactly once with
// its dead-letter headers gone.
func TestDeadLetters_list_and_replay(t *testing.T) {
	rococotest.RequireBroker(t, "127.0.0.1:5672")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tc, queue := deadLettered(ctx, t, 3)

	list, err := DeadLetters(ctx, tc, queue, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("DeadLetters = %d messages, want 3: %+v", len(list), list)
	}
	for _, dl := range list {
		if dl.Error != "boom "+string(dl.Body) || dl.Attempt != 1 || dl.Queue != queue || len(dl.ID) != len("body:")+12 {
			t.Errorf("dead letter %+v: want error %q, attempt 1, queue %s, an id", dl, "boom "+string(dl.Body), queue)
		}
	}
	if again, err := DeadLetters(ctx, tc, queue, 2); err != nil || len(again) != 2 || again[0].ID != list[0].ID || again[1].ID != list[1].ID {
		t.Fatalf("DeadLetters after listing, limit 2 = %+v, %v; want the first 2 (listing removes nothing, keeps the order)", again, err)
	}
	if n, err := DeadLetterCount(ctx, tc, queue); err != nil || n != 3 {
		t.Fatalf("DeadLetterCount after listing = %d, %v; want 3", n, err)
	}

	r, err := ReplayDeadLetters(ctx, tc, queue, []string{list[1].ID})
	if err != nil || r != (Replayed{Moved: 1, Kept: 2}) {
		t.Fatalf("ReplayDeadLetters(one id) = %+v, %v; want 1 moved, 2 kept", r, err)
	}
	r, err = ReplayDeadLetters(ctx, tc, queue, nil)
	if err != nil || r != (Replayed{Moved: 2}) {
		t.Fatalf("ReplayDeadLetters(all) = %+v, %v; want 2 moved", r, err)
	}
	if left, err := DeadLetters(ctx, tc, queue, 0); err != nil || len(left) != 0 {
		t.Fatalf("dead letters after replaying all = %+v, %v; want none", left, err)
	}

	// Each message is back in the queue once, without dead-letter headers.
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if _, has := d.Headers[rococo.HeaderError]; has {
			t.Errorf("replayed message %s keeps %s", d.MessageId, rococo.HeaderError)
		}
		bodies = append(bodies, string(d.Body))
	}
	slices.Sort(bodies)
	if want := []string{`{"n":0}`, `{"n":1}`, `{"n":2}`}; !slices.Equal(bodies, want) {
		t.Errorf("queue holds %q after the replays, want %q", bodies, want)
	}
}

// TestDeadLetters_replay_while_refused_again replays while the service
// runs and dead-letters every message it gets at once, as a service still
// failing on them does: the copies dead-lettered again land in the
// dead-letter queue behind the ones being replayed. Each message that was
// there is replayed once (the replay ends, counting 3, or 1 with an id),
// and afterwards the dead-letter queue holds each exactly once again.
func TestDeadLetters_replay_while_refused_again(t *testing.T) {
	rococotest.RequireBroker(t, "127.0.0.1:5672")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 5
	tc, queue := deadLettered(ctx, t, n)
	list, err := DeadLetters(ctx, tc, queue, 0)
	if err != nil || len(list) != n {
		t.Fatalf("DeadLetters = %d, %v; want %d", len(list), err, n)
	}

	// The service: every message it gets is dead-lettered again at once.
	tr, err := tc.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	dels, err := tr.Consume(cctx, queue, rococo.ConsumeOptions{Prefetch: 10})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	var failed []error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for d := range dels {
			err := d.DeadLetter(ctx, errors.New("refused again"))
			mu.Lock()
			got = append(got, string(d.Message().Body))
			if err != nil {
				failed = append(failed, err)
			}
			mu.Unlock()
		}
	}()
	defer func() { stop(); <-done }()
	// received waits until the service got want messages, then a little
	// longer for any extra, and returns their bodies sorted (and forgets
	// them).
	received := func(want int) []string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n >= want || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if len(failed) > 0 {
			t.Fatalf("the service could not dead-letter again: %v", failed)
		}
		bodies := got
		got = nil
		slices.Sort(bodies)
		return bodies
	}
	// dlqHolds checks that the dead-letter queue holds each of the n
	// messages once.
	dlqHolds := func() {
		t.Helper()
		left, err := DeadLetters(ctx, tc, queue, 0)
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, dl := range left {
			bodies = append(bodies, string(dl.Body))
		}
		slices.Sort(bodies)
		if !slices.Equal(bodies, allBodies(n)) {
			t.Fatalf("the dead-letter queue holds %q, want each message once: %q", bodies, allBodies(n))
		}
	}

	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	r, err := ReplayDeadLetters(rctx, tc, queue, nil)
	rcancel()
	if err != nil || r != (Replayed{Moved: n}) {
		t.Fatalf("ReplayDeadLetters(all) while the service refuses again = %+v, %v; want %d moved, each once", r, err, n)
	}
	if bodies := received(n); !slices.Equal(bodies, allBodies(n)) {
		t.Fatalf("the service got %q, want each message once: %q", bodies, allBodies(n))
	}
	dlqHolds()

	// With an id: that message once; the others stay, counted once.
	left, err := DeadLetters(ctx, tc, queue, 0)
	if err != nil || len(left) != n {
		t.Fatalf("DeadLetters = %d, %v; want %d", len(left), err, n)
	}
	id, body := left[2].ID, string(left[2].Body)
	rctx, rcancel = context.WithTimeout(ctx, 20*time.Second)
	r, err = ReplayDeadLetters(rctx, tc, queue, []string{id})
	rcancel()
	if err != nil || r != (Replayed{Moved: 1, Kept: n - 1}) {
		t.Fatalf("ReplayDeadLetters(%s) while the service refuses again = %+v, %v; want 1 moved, %d kept", id, r, err, n-1)
	}
	if bodies := received(1); !slices.Equal(bodies, []string{body}) {
		t.Fatalf("the service got %q, want %q once", bodies, body)
	}
	stop()
	<-done
	dlqHolds()
	if c, err := DeadLetterCount(ctx, tc, queue); err != nil || c != n {
		t.Fatalf("DeadLetterCount = %d, %v; want %d", c, err, n)
	}
}

func TestDeadLetters_not_rabbitmq(t *testing.T) {
	if _, err := DeadLetters(context.Background(), nil, "q", 0); err == nil {
		t.Error("DeadLetters with a nil transport config: no error")
	}
	if _, err := DeadLetterCount(context.Background(), nil, "q"); err == nil {
		t.Error("DeadLetterCount with a nil transport config: no error")
	}
}

// deadLettered returns the transport config of a new queue (deleted when
// the test ends) whose dead-letter queue holds n messages dead-lettered by
// the transport, {"n":0} to {"n":n-1} with the errors "boom <body>".
func deadLettered(ctx context.Context, t *testing.T, n int) (rococo.TransportConfig, string) {
	t.Helper()
	queue := fmt.Sprintf("rococo-test-dlq-%d", time.Now().UnixNano())
	cfg, err := config.Load([]string{"MESSAGING_TYPE=RabbitMqConnection", "PROCESSOR_TYPE=P", "P_QUEUE_NAME=" + queue, "RABBITMQ_HOST=127.0.0.1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := FromEnv(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteQueues(t, ownedQueueNames(queue)...) })
	tr, err := tc.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var msgs []*rococo.Message
	for _, b := range allBodies(n) {
		msgs = append(msgs, &rococo.Message{Body: []byte(b)})
	}
	if err := tr.Publish(ctx, queue, msgs...); err != nil {
		t.Fatal(err)
	}
	dels, err := tr.Consume(ctx, queue, rococo.ConsumeOptions{Prefetch: n})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		d := <-dels
		if err := d.DeadLetter(ctx, errors.New("boom "+string(d.Message().Body))); err != nil {
			t.Fatal(err)
		}
	}
	return tc, queue
}

// allBodies are the bodies {"n":0} to {"n":n-1}, sorted (for n <= 10).
func allBodies(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf(`{"n":%d}`, i))
	}
	return out
}

func deleteQueues(t *testing.T, queues ...string) {
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Logf("delete queues: %v", err)
		return
	}
	defer conn.Close()
	for _, q := range queues {
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		_, _ = ch.QueueDelete(q, false, false, false)
		_ = ch.Close()
	}
}
