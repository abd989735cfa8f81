package rabbitmq

import (
	"context"
	"sync"
	"testing"

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
	}, transporttest.Features{GuaranteedOrder: true})
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
		for _, n := range []string{q, RetryQueue(q), rococo.DeadLetterQueue(q)} {
			if ch, err := conn.Channel(); err == nil {
				_, _ = ch.QueueDelete(n, false, false, false)
				_ = ch.Close()
			}
		}
	}
}
