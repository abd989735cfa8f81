package rabbitmq

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/transporttest"
)

// TestContract runs the shared transport contract suite against RabbitMQ.
func TestContract(t *testing.T) {
	rococotestBroker(t)
	transporttest.Run(t, func(t *testing.T) rococo.Transport {
		tr, err := New(testConfig(), nil)
		if err != nil {
			t.Fatalf("New() = %v", err)
		}
		r := &recording{Transport: tr, queues: map[string]bool{}}
		t.Cleanup(r.deleteQueues)
		return r
	}, transporttest.Features{
		GuaranteedOrder: true,
		BreakMoves:      breakDeadLetterQueue,
		// Close gives up the consumer's channel with the delivery the suite
		// holds unsettled: the broker requeues it as it does for a killed
		// process.
		Crash: func(t *testing.T, tr rococo.Transport) {
			if err := tr.Close(); err != nil {
				t.Fatalf("Close() = %v", err)
			}
		},
	})
}

// breakDeadLetterQueue replaces queue's dead-letter queue, as soon as a
// consumer of queue started (so after the transport declared and checked
// it), by one that refuses every message (x-max-length 0, x-overflow
// reject-publish), as a full queue or a reject-publish policy does. The
// repair deletes it; the transport declares it again.
func breakDeadLetterQueue(t *testing.T, _ rococo.Transport, queue string) (repair func()) {
	_, repair = breakAfterConsumer(t, queue, true)
	return repair
}

// breakAfterConsumer deletes queue's dead-letter queue once queue has a
// consumer and, with refusing, declares it again refusing every message.
// broken says when that is done; the repair waits for it and deletes the
// queue.
func breakAfterConsumer(t *testing.T, queue string, refusing bool) (broken <-chan struct{}, repair func()) {
	a := newAdmin(t)
	dlq := rococo.DeadLetterQueue(queue)
	result := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(10 * time.Second)
		for {
			info, err := a.channel().QueueDeclarePassive(queue, true, false, false, false, nil)
			if err == nil && info.Consumers > 0 {
				break
			}
			if time.Now().After(deadline) {
				result <- fmt.Errorf("no consumer of %s within 10s", queue)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := a.channel().QueueDelete(dlq, false, false, false); err != nil || !refusing {
			result <- err
			return
		}
		_, err := a.channel().QueueDeclare(dlq, true, false, false, false, amqp.Table{"x-max-length": int32(0), "x-overflow": "reject-publish"})
		result <- err
	}()
	return done, func() {
		if err := <-result; err != nil {
			t.Fatalf("break %s: %v", dlq, err)
		}
		if refusing {
			if _, err := a.channel().QueueDelete(dlq, false, false, false); err != nil {
				t.Errorf("delete refusing %s: %v", dlq, err)
			}
		}
	}
}

// recording remembers every queue the suite touches so the test can delete
// them (with their delay and dead-letter queues) at the end.
type recording struct {
	*Transport
	mu     sync.Mutex
	queues map[string]bool
}

func (r *recording) note(q string) {
	r.mu.Lock()
	r.queues[q] = true
	r.mu.Unlock()
}

func (r *recording) Publish(ctx context.Context, q string, msgs ...*rococo.Message) error {
	r.note(q)
	return r.Transport.Publish(ctx, q, msgs...)
}

func (r *recording) Consume(ctx context.Context, q string, opts rococo.ConsumeOptions) (<-chan rococo.Delivery, error) {
	r.note(q)
	return r.Transport.Consume(ctx, q, opts)
}

func (r *recording) deleteQueues() {
	conn, err := amqp.Dial("amqp://guest:guest@" + brokerAddr + "/")
	if err != nil {
		return
	}
	defer conn.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for q := range r.queues {
		for _, n := range ownedQueueNames(q) {
			if ch, err := conn.Channel(); err == nil {
				_, _ = ch.QueueDelete(n, false, false, false)
				_ = ch.Close()
			}
		}
	}
}
