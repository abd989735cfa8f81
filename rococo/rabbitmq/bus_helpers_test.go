package rabbitmq

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo/rococotest"
)

// busAddr is the broker the bus tests use (guest/guest).
const busAddr = "127.0.0.1:5672"

// busEnv is a Bus on exchanges of the test's own, deleted at its end, with
// a plain amqp091 channel to inspect queues.
type busEnv struct {
	t    testing.TB
	bus  *Bus
	opts BusOptions
	id   string // unique per test: prefix names with it
	conn *amqp.Connection
	ch   *amqp.Channel
}

func newBusEnv(t testing.TB, opts BusOptions) *busEnv {
	t.Helper()
	rococotest.RequireBroker(t, busAddr)
	id := fmt.Sprintf("rococo-test.%s.%d", strings.NewReplacer("/", ".", " ", "_").Replace(t.Name()), time.Now().UnixNano())
	if opts.EventsExchange == "" {
		opts.EventsExchange = id + ".events"
	}
	if opts.RegistryExchange == "" {
		opts.RegistryExchange = id + ".registry"
	}
	e := &busEnv{t: t, opts: opts, id: id}
	e.bus = e.newBus()
	conn, err := amqp.Dial("amqp://guest:guest@" + busAddr + "/")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	e.conn = conn
	if e.ch, err = conn.Channel(); err != nil {
		t.Fatalf("channel: %v", err)
	}
	t.Cleanup(func() {
		if ch, err := conn.Channel(); err == nil {
			_ = ch.ExchangeDelete(opts.EventsExchange, false, false)
			_ = ch.ExchangeDelete(opts.RegistryExchange, false, false)
		}
		_ = conn.Close()
	})
	return e
}

// newBus returns another Bus (another connection) on the test's exchanges.
func (e *busEnv) newBus() *Bus {
	e.t.Helper()
	cfg := Config{Host: "127.0.0.1", Port: 5672, ReconnectMin: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond}
	b, err := NewBus(cfg, e.opts, nil)
	if err != nil {
		e.t.Fatalf("NewBus: %v", err)
	}
	e.t.Cleanup(func() { _ = b.Close() })
	return b
}

// queue returns a unique queue name, deleted at the test's end.
func (e *busEnv) queue(suffix string) string {
	q := e.id + "." + suffix
	e.t.Cleanup(func() {
		if ch, err := e.conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(q, false, false, false)
			_ = ch.Close()
		}
	})
	return q
}

// take returns the bodies of the messages ready in queue. After a
// confirmed publish of a persistent message to a durable queue, the
// message is in the queue: no waiting is needed.
func (e *busEnv) take(queue string) []string {
	e.t.Helper()
	q, err := e.ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		e.t.Fatalf("inspect %s: %v", queue, err)
	}
	out := make([]string, 0, q.Messages)
	for range q.Messages {
		d, ok, err := e.ch.Get(queue, true)
		if err != nil || !ok {
			e.t.Fatalf("get %s: %v (a message was counted but not there)", queue, err)
		}
		out = append(out, string(d.Body))
	}
	return out
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond every 10ms up to 10s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
