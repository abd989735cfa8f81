package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo/bus"
	"github.com/rococo-go/rococo/rococo/rabbitmq"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

// The tests and benchmarks on the real RabbitMQ at 127.0.0.1:5672
// (guest/guest), on exchanges and queues of their own, deleted at their
// end. They skip without a broker, and fail without one when CI=true.

const brokerAddr = "127.0.0.1:5672"

// rabbit is a RabbitMQ bus on the test's own exchanges, with a listener
// queue bound to every event key: events() reads what it received.
type rabbit struct {
	bus  *rabbitmq.Bus
	mu   sync.Mutex
	evs  []bus.Event
	seen chan struct{} // a token per event received
}

func newRabbit(t testing.TB) *rabbit {
	t.Helper()
	rococotest.RequireBroker(t, brokerAddr)
	id := fmt.Sprintf("rococo-test.gateway.%s.%d", strings.NewReplacer("/", ".", " ", "_").Replace(t.Name()), time.Now().UnixNano())
	opts := rabbitmq.BusOptions{EventsExchange: id + ".events", RegistryExchange: id + ".registry"}
	b, err := rabbitmq.NewBus(rabbitmq.Config{Host: "127.0.0.1", Port: 5672}, opts, nil)
	if err != nil {
		t.Fatalf("NewBus: %v", err)
	}
	r := &rabbit{bus: b, seen: make(chan struct{}, 1<<20)}
	conn, err := amqp.Dial("amqp://guest:guest@" + brokerAddr + "/")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	queue := id + ".listener"
	t.Cleanup(func() {
		_ = b.Close()
		if ch, err := conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(queue, false, false, false)
			_ = ch.ExchangeDelete(opts.EventsExchange, false, false)
			_ = ch.ExchangeDelete(opts.RegistryExchange, false, false)
		}
		_ = conn.Close()
	})
	all, _ := bus.ParsePattern("#")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Bind(ctx, queue, []bus.Pattern{all}); err != nil {
		t.Fatalf("bind the listener queue: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Qos(256, 0, false); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		t.Fatalf("consume the listener queue: %v", err)
	}
	go func() {
		for d := range deliveries {
			var ev bus.Event
			if err := json.Unmarshal(d.Body, &ev); err == nil {
				r.mu.Lock()
				r.evs = append(r.evs, ev)
				r.mu.Unlock()
				r.seen <- struct{}{}
			}
			_ = d.Ack(false)
		}
	}()
	return r
}

// events waits a moment for events still in flight to the listener queue,
// then returns what it received.
func (r *rabbit) events() []bus.Event {
	time.Sleep(100 * time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bus.Event(nil), r.evs...)
}
