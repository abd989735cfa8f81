package rabbitmq

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

// brokerAddr is the RabbitMQ every test uses (guest/guest).
const brokerAddr = "127.0.0.1:5672"

// testConfig returns a Config for the local broker with fast reconnects.
func testConfig() Config {
	return Config{Host: "127.0.0.1", Port: 5672, ReconnectMin: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond, ExitIdle: 300 * time.Millisecond}
}

// newTransport returns a Transport on the local broker, closed at the end.
func newTransport(t testing.TB, cfg Config) *Transport {
	t.Helper()
	rococotest.RequireBroker(t, brokerAddr)
	tr, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// admin is a plain amqp091 connection for setting up and inspecting queues.
type admin struct {
	t    testing.TB
	conn *amqp.Connection
	ch   *amqp.Channel
}

func newAdmin(t testing.TB) *admin {
	t.Helper()
	rococotest.RequireBroker(t, brokerAddr)
	conn, err := amqp.Dial("amqp://guest:guest@" + brokerAddr + "/")
	if err != nil {
		t.Fatalf("admin dial: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("admin channel: %v", err)
	}
	a := &admin{t: t, conn: conn, ch: ch}
	t.Cleanup(func() { _ = conn.Close() })
	return a
}

// channel returns a working channel, reopening it after a channel error.
func (a *admin) channel() *amqp.Channel {
	a.t.Helper()
	if a.ch.IsClosed() {
		ch, err := a.conn.Channel()
		if err != nil {
			a.t.Fatalf("admin channel: %v", err)
		}
		a.ch = ch
	}
	return a.ch
}

// delayQueueNames returns the names of queue's delay queues for every delay
// step up to 10 minutes.
func delayQueueNames(queue string) []string {
	var names []string
	for d := time.Millisecond; d <= 10*time.Minute; d = DelayStep(d + time.Millisecond) {
		names = append(names, DelayQueue(queue, d))
	}
	return names
}

// ownedQueueNames returns queue, its dead-letter queue and its delay queues
// (see delayQueueNames).
func ownedQueueNames(queue string) []string {
	return append([]string{queue, rococo.DeadLetterQueue(queue)}, delayQueueNames(queue)...)
}

// queueName returns a unique queue name and deletes it, its delay queues and
// its dead-letter queue when the test ends.
func queueName(t testing.TB) string {
	t.Helper()
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	q := fmt.Sprintf("rococo-test.%s.%d", name, time.Now().UnixNano())
	t.Cleanup(func() {
		conn, err := amqp.Dial("amqp://guest:guest@" + brokerAddr + "/")
		if err != nil {
			return
		}
		defer conn.Close()
		for _, n := range ownedQueueNames(q) {
			if ch, err := conn.Channel(); err == nil {
				_, _ = ch.QueueDelete(n, false, false, false)
				_ = ch.Close()
			}
		}
	})
	return q
}

// count returns the ready messages in queue (0 when it does not exist).
func (a *admin) count(queue string) int {
	a.t.Helper()
	q, err := a.channel().QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		return 0
	}
	return q.Messages
}

// get fetches one message from queue, waiting up to 5s.
func (a *admin) get(queue string) amqp.Delivery {
	a.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		d, ok, err := a.channel().Get(queue, true)
		if err != nil {
			a.t.Fatalf("get %s: %v", queue, err)
		}
		if ok {
			return d
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.t.Fatalf("no message in %s within 5s", queue)
	return amqp.Delivery{}
}

// waitCount waits up to 10s for queue to hold n ready messages.
func (a *admin) waitCount(queue string, n int) {
	a.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := a.count(queue)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("queue %s holds %d messages, want %d", queue, got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// receive waits up to 5s for the next delivery.
func receive(t testing.TB, ch <-chan rococo.Delivery) rococo.Delivery {
	t.Helper()
	select {
	case d, ok := <-ch:
		if !ok {
			t.Fatal("delivery channel closed")
		}
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery within 5s")
	}
	return nil
}

// noDelivery fails when a delivery arrives within d.
func noDelivery(t testing.TB, ch <-chan rococo.Delivery, d time.Duration) {
	t.Helper()
	select {
	case del, ok := <-ch:
		if ok {
			t.Fatalf("unexpected delivery %s", del.Message().Body)
		}
	case <-time.After(d):
	}
}

// waitClosed waits up to 10s for the delivery channel to close, failing on
// a delivery.
func waitClosed(t testing.TB, ch <-chan rococo.Delivery) {
	t.Helper()
	select {
	case d, ok := <-ch:
		if ok {
			t.Fatalf("delivery %s, want channel closed", d.Message().Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("delivery channel not closed within 10s")
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// proxy is a TCP proxy to the broker that a test can cut, as a network
// failure would, without touching the broker other tests use.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	down  bool
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t testing.TB) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut(true)
		p.wg.Wait()
	})
	return p
}

func (p *proxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		b, err := net.Dial("tcp", brokerAddr)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns = append(p.conns, c, b)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(b, c); _ = b.Close() }()
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, b); _ = c.Close() }()
	}
}

// cut closes every proxied connection; down makes it refuse new ones until
// cut(false) is called.
func (p *proxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func rococotestBroker(t testing.TB) {
	t.Helper()
	rococotest.RequireBroker(t, brokerAddr)
}
