package sqs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

// TestDeadLetters_list_and_replay dead-letters three messages through the
// transport on the SQS server, lists them (error and attempt, nothing
// removed), replays one by id, then the rest, and finds each back in the
// queue once.
func TestDeadLetters_list_and_replay(t *testing.T) {
	ep := testEndpoint(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	queue := fmt.Sprintf("rococo-test-dlq-%d", time.Now().UnixNano())
	cfg, err := config.Load([]string{"MESSAGING_TYPE=SqsConnection", "PROCESSOR_TYPE=P", "P_QUEUE_NAME=" + queue, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test-secret", "AWS_ENDPOINT_URL_SQS=" + ep}, "")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := FromEnv(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tc.Open(ctx, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	client := tr.(*Transport).Client()
	t.Cleanup(func() {
		for _, q := range []string{queue, rococo.DeadLetterQueue(queue)} {
			if u, err := client.GetQueueUrl(context.Background(), &awssqs.GetQueueUrlInput{QueueName: aws.String(QueueName(q))}); err == nil {
				_, _ = client.DeleteQueue(context.Background(), &awssqs.DeleteQueueInput{QueueUrl: u.QueueUrl})
			}
		}
		_ = tr.Close()
	})
	if list, err := DeadLetters(ctx, tc, queue, 0); err != nil || len(list) != 0 {
		t.Fatalf("DeadLetters before any = %v, %v; want none", list, err)
	}
	var msgs []*rococo.Message
	for i := range 3 {
		msgs = append(msgs, &rococo.Message{Body: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	if err := tr.Publish(ctx, queue, msgs...); err != nil {
		t.Fatal(err)
	}
	cctx, stop := context.WithCancel(ctx)
	dels, err := tr.Consume(cctx, queue, rococo.ConsumeOptions{Prefetch: 3})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		d := <-dels
		if err := d.DeadLetter(ctx, errors.New("boom "+string(d.Message().Body))); err != nil {
			t.Fatal(err)
		}
	}
	stop()

	list, err := DeadLetters(ctx, tc, queue, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("DeadLetters = %d messages, want 3: %+v", len(list), list)
	}
	for _, dl := range list {
		if dl.Error != "boom "+string(dl.Body) || dl.Attempt != 1 || dl.Queue != queue || dl.ID == "" {
			t.Errorf("dead letter %+v: want error %q, attempt 1, queue %s, an id", dl, "boom "+string(dl.Body), queue)
		}
	}
	if again, err := DeadLetters(ctx, tc, queue, 0); err != nil || len(again) != 3 {
		t.Fatalf("DeadLetters again = %d, %v; want 3 (listing removes nothing)", len(again), err)
	}
	r, err := ReplayDeadLetters(ctx, tc, queue, []string{list[1].ID})
	if err != nil || r != (Replayed{Moved: 1, Kept: 2}) {
		t.Fatalf("ReplayDeadLetters(one id) = %+v, %v; want 1 moved, 2 kept", r, err)
	}
	if r, err = ReplayDeadLetters(ctx, tc, queue, nil); err != nil || r != (Replayed{Moved: 2}) {
		t.Fatalf("ReplayDeadLetters(all) = %+v, %v; want 2 moved", r, err)
	}
	if left, err := DeadLetters(ctx, tc, queue, 0); err != nil || len(left) != 0 {
		t.Fatalf("dead letters after replaying all = %+v, %v; want none", left, err)
	}
	u, err := client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(QueueName(queue))})
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for len(bodies) < 3 {
		out, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: u.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			if _, has := m.MessageAttributes[rococo.HeaderError]; has {
				t.Errorf("replayed message keeps %s", rococo.HeaderError)
			}
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
	slices.Sort(bodies)
	if want := []string{`{"n":0}`, `{"n":1}`, `{"n":2}`}; !slices.Equal(bodies, want) {
		t.Errorf("queue holds %q after the replays, want %q", bodies, want)
	}
}
