package sqs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

// TestDeadLetters_list_and_replay dead-letters three messages through the
// transport on the SQS server, lists them (error and attempt, nothing
// removed), replays one by id, then the rest, and finds each back in the
// queue once.
func TestDeadLetters_list_and_replay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tc, queue, client := sqsQueue(ctx, t, false)
	if list, err := DeadLetters(ctx, tc, queue, 0); err != nil || len(list) != 0 {
		t.Fatalf("DeadLetters before any = %v, %v; want none", list, err)
	}
	if n, err := DeadLetterCount(ctx, tc, queue); err != nil || n != 0 {
		t.Fatalf("DeadLetterCount before any = %d, %v; want 0", n, err)
	}
	deadLetter(ctx, t, tc, queue, 3)

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
	if some, err := DeadLetters(ctx, tc, queue, 2); err != nil || len(some) != 2 {
		t.Fatalf("DeadLetters, limit 2 = %d, %v; want 2", len(some), err)
	}
	if n, err := DeadLetterCount(ctx, tc, queue); err != nil || n != 3 {
		t.Fatalf("DeadLetterCount after listing = %d, %v; want 3", n, err)
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

// TestDeadLetters_replay_while_refused_again replays while the service
// runs and dead-letters every message it gets at once, as a service still
// failing on them does: the copies dead-lettered again arrive in the
// dead-letter queue while the replay runs. Each message that was there is
// replayed once (the replay ends, counting n, or 1 with an id), the ones
// not asked for are visible again at once, and afterwards the dead-letter
// queue holds each message once again. On a FIFO queue too (where --id is
// not tried: a message kept holds back the rest of its message group).
func TestDeadLetters_replay_while_refused_again(t *testing.T) {
	for _, fifo := range []bool{false, true} {
		t.Run(map[bool]string{false: "standard", true: "fifo"}[fifo], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			const n = 5
			tc, queue, _ := sqsQueue(ctx, t, fifo)
			deadLetter(ctx, t, tc, queue, n)
			svc := refuseAgain(ctx, t, tc, queue)

			rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
			r, err := ReplayDeadLetters(rctx, tc, queue, nil)
			rcancel()
			if err != nil || r != (Replayed{Moved: n}) {
				t.Fatalf("ReplayDeadLetters(all) while the service refuses again = %+v, %v; want %d moved, each once", r, err, n)
			}
			if bodies := svc.received(n); !slices.Equal(bodies, bodiesUpTo(n)) {
				t.Fatalf("the service got %q, want each message once: %q", bodies, bodiesUpTo(n))
			}
			if fifo {
				svc.stop()
				if c, err := DeadLetterCount(ctx, tc, queue); err != nil || c != n {
					t.Fatalf("DeadLetterCount after the replay = %d, %v; want %d (each dead-lettered again once)", c, err, n)
				}
				return
			}
			left := dlqHolds(ctx, t, tc, queue, n)

			// With an id: that message once; the others stay, visible at
			// once (the listing right after finds them all).
			id, body := left[2].ID, string(left[2].Body)
			rctx, rcancel = context.WithTimeout(ctx, 30*time.Second)
			r, err = ReplayDeadLetters(rctx, tc, queue, []string{id})
			rcancel()
			if err != nil || r != (Replayed{Moved: 1, Kept: n - 1}) {
				t.Fatalf("ReplayDeadLetters(%s) while the service refuses again = %+v, %v; want 1 moved, %d kept", id, r, err, n-1)
			}
			if bodies := svc.received(1); !slices.Equal(bodies, []string{body}) {
				t.Fatalf("the service got %q, want %q once", bodies, body)
			}
			svc.stop()
			dlqHolds(ctx, t, tc, queue, n)
			if c, err := DeadLetterCount(ctx, tc, queue); err != nil || c != n {
				t.Fatalf("DeadLetterCount = %d, %v; want %d", c, err, n)
			}
		})
	}
}

// TestDeadLetters_walk_renews_what_it_holds: a walk longer than the hold
// keeps the messages it received invisible (renewed): another receive gets
// none of them meanwhile, each is handed to fn once, and its delete, with
// the receipt handle it was received with, removes it.
func TestDeadLetters_walk_renews_what_it_holds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	old := deadLetterHold
	deadLetterHold = 2
	t.Cleanup(func() { deadLetterHold = old })
	tc, queue, _ := sqsQueue(ctx, t, false)
	const n = 8
	deadLetter(ctx, t, tc, queue, n)
	seen := map[string]int{}
	err := walkDeadLetters(ctx, tc, queue, 0, func(w *dlqWalk, m types.Message) (bool, error) {
		seen[aws.ToString(m.Body)]++
		time.Sleep(500 * time.Millisecond) // n of them: twice the hold
		out, err := w.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(w.url), MaxNumberOfMessages: 10, VisibilityTimeout: 0})
		if err != nil {
			return false, err
		}
		if len(out.Messages) > 0 {
			t.Errorf("after %d messages another receive got %d held ones", len(seen), len(out.Messages))
		}
		_, err = w.client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(w.url), ReceiptHandle: m.ReceiptHandle})
		return err == nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Errorf("the walk handed out %d messages, want %d: %v", len(seen), n, seen)
	}
	for b, c := range seen {
		if c != 1 {
			t.Errorf("message %s handed out %d times, want once", b, c)
		}
	}
	if c, err := DeadLetterCount(ctx, tc, queue); err != nil || c != 0 {
		t.Errorf("DeadLetterCount after deleting all = %d, %v; want 0 (none left behind by an expired receipt handle)", c, err)
	}
}

func TestDeadLetters_not_sqs(t *testing.T) {
	if _, err := DeadLetters(context.Background(), nil, "q", 0); err == nil {
		t.Error("DeadLetters with a nil transport config: no error")
	}
	if _, err := DeadLetterCount(context.Background(), nil, "q"); err == nil {
		t.Error("DeadLetterCount with a nil transport config: no error")
	}
}

// sqsQueue returns the transport config of a new queue (a FIFO one when
// fifo) on the SQS server, and a client; the queue and its dead-letter
// queue are deleted when the test ends.
func sqsQueue(ctx context.Context, t *testing.T, fifo bool) (rococo.TransportConfig, string, *awssqs.Client) {
	t.Helper()
	ep := testEndpoint(t)
	queue := fmt.Sprintf("rococo-test-dlq-%d", time.Now().UnixNano())
	if fifo {
		queue += ".fifo"
	}
	cfg, err := config.Load([]string{"MESSAGING_TYPE=SqsConnection", "PROCESSOR_TYPE=P", "P_QUEUE_NAME=" + queue, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test-secret", "AWS_ENDPOINT_URL_SQS=" + ep}, "")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := FromEnv(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := tc.(envConfig)
	e.cfg.WaitTime = time.Second // a consumer stops within a second
	tc = e
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
	return tc, queue, client
}

// deadLetter sends {"n":0} to {"n":n-1} to queue (on a FIFO queue in one
// message group) and dead-letters them through the transport with the
// errors "boom <body>"; each "dead-lettered" log line names the SQS
// dead-letter queue (q-dlq, not q.dlq).
func deadLetter(ctx context.Context, t *testing.T, tc rococo.TransportConfig, queue string, n int) {
	t.Helper()
	var logs syncBuffer
	tr, err := tc.Open(ctx, slogTextLogger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = tr.Close()
		want := "dead_letter_queue=" + QueueName(rococo.DeadLetterQueue(queue)) + " "
		if got := strings.Count(logs.String(), want); got != n || strings.Contains(logs.String(), ".dlq") {
			t.Errorf("%d log lines name %q (want %d), or one names %s:\n%s", got, want, n, rococo.DeadLetterQueue(queue), logs.String())
		}
	}()
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	dels, err := tr.Consume(cctx, queue, rococo.ConsumeOptions{Prefetch: n})
	if err != nil {
		t.Fatal(err)
	}
	if !isFIFO(queue) {
		var msgs []*rococo.Message
		for _, b := range bodiesUpTo(n) {
			msgs = append(msgs, &rococo.Message{Body: []byte(b)})
		}
		if err := tr.Publish(ctx, queue, msgs...); err != nil {
			t.Fatal(err)
		}
	} else {
		client := tr.(*Transport).Client()
		u, err := client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(queue)})
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range bodiesUpTo(n) {
			if _, err := client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: u.QueueUrl, MessageBody: aws.String(b),
				MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String(fmt.Sprint("m", i))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range n {
		select {
		case d := <-dels:
			if err := d.DeadLetter(ctx, errors.New("boom "+string(d.Message().Body))); err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
}

// refusingService consumes a queue and dead-letters every message it gets
// at once.
type refusingService struct {
	t      *testing.T
	mu     sync.Mutex
	got    []string
	failed []error
	cancel context.CancelFunc
	done   chan struct{}
}

func refuseAgain(ctx context.Context, t *testing.T, tc rococo.TransportConfig, queue string) *refusingService {
	tr, err := tc.Open(ctx, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	s := &refusingService{t: t, cancel: cancel, done: make(chan struct{})}
	dels, err := tr.Consume(cctx, queue, rococo.ConsumeOptions{Prefetch: 10})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		defer tr.Close()
		for d := range dels {
			err := d.DeadLetter(ctx, errors.New("refused again"))
			s.mu.Lock()
			s.got = append(s.got, string(d.Message().Body))
			if err != nil {
				s.failed = append(s.failed, err)
			}
			s.mu.Unlock()
		}
	}()
	t.Cleanup(s.stop)
	return s
}

// received waits until the service got want messages, then a little longer
// for any extra, and returns their bodies sorted (and forgets them).
func (s *refusingService) received(want int) []string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.got)
		s.mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failed) > 0 {
		s.t.Fatalf("the service could not dead-letter again: %v", s.failed)
	}
	bodies := s.got
	s.got = nil
	slices.Sort(bodies)
	return bodies
}

// stop ends the service and waits for it.
func (s *refusingService) stop() {
	s.cancel()
	<-s.done
}

// dlqHolds checks that the dead-letter queue of queue holds each of the n
// messages once, and returns them.
func dlqHolds(ctx context.Context, t *testing.T, tc rococo.TransportConfig, queue string, n int) []DeadLetter {
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
	if !slices.Equal(bodies, bodiesUpTo(n)) {
		t.Fatalf("the dead-letter queue holds %q, want each message once: %q", bodies, bodiesUpTo(n))
	}
	return left
}

// bodiesUpTo are the bodies {"n":0} to {"n":n-1}, sorted (for n <= 10).
func bodiesUpTo(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf(`{"n":%d}`, i))
	}
	return out
}
