package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	for i := range 3 {
		msgs = append(msgs, &rococo.Message{Body: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	if err := tr.Publish(ctx, queue, msgs...); err != nil {
		t.Fatal(err)
	}
	dels, err := tr.Consume(ctx, queue, rococo.ConsumeOptions{Prefetch: 3})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		d := <-dels
		if err := d.DeadLetter(ctx, errors.New("boom "+string(d.Message().Body))); err != nil {
			t.Fatal(err)
		}
	}
	_ = tr.Close()

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
	if again, err := DeadLetters(ctx, tc, queue, 2); err != nil || len(again) != 2 {
		t.Fatalf("DeadLetters after listing, limit 2 = %d, %v; want 2 (listing removes nothing)", len(again), err)
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

func TestDeadLetters_not_rabbitmq(t *testing.T) {
	if _, err := DeadLetters(context.Background(), nil, "q", 0); err == nil {
		t.Error("DeadLetters with a nil transport config: no error")
	}
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
