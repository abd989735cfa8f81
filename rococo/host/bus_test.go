package host

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/bus"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/rabbitmq"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

// The band bus tests run Band services on the real RabbitMQ (skipped
// without one, failing with CI=true), each on exchanges and a service name
// of its own.

const busBroker = "127.0.0.1:5672"

type busTest struct {
	t        *testing.T
	name     string // the service's name: its listener queues are <name>.<listener>
	events   string
	registry string
	admin    *amqp.Connection
	pub      *rabbitmq.Bus
}

func newBusTest(t *testing.T) *busTest {
	t.Helper()
	rococotest.RequireBroker(t, busBroker)
	id := fmt.Sprintf("bt%d", time.Now().UnixNano())
	bt := &busTest{t: t, name: id, events: "rococo-test." + id + ".events", registry: "rococo-test." + id + ".registry"}
	conn, err := amqp.Dial("amqp://guest:guest@" + busBroker + "/")
	if err != nil {
		t.Fatal(err)
	}
	bt.admin = conn
	t.Cleanup(func() {
		if ch, err := conn.Channel(); err == nil {
			_ = ch.ExchangeDelete(bt.events, false, false)
			_ = ch.ExchangeDelete(bt.registry, false, false)
		}
		_ = conn.Close()
	})
	bt.pub = bt.newBus()
	return bt
}

func (bt *busTest) newBus() *rabbitmq.Bus {
	b, err := rabbitmq.NewBus(rabbitmq.Config{Host: "127.0.0.1", Port: 5672}, rabbitmq.BusOptions{EventsExchange: bt.events, RegistryExchange: bt.registry}, nil)
	if err != nil {
		bt.t.Fatal(err)
	}
	bt.t.Cleanup(func() { _ = b.Close() })
	return b
}

// deleteQueues deletes a listener's queue, its delay and dead-letter queues
// at the test's end.
func (bt *busTest) deleteQueues(listener string) string {
	q := band.ListenerQueue(bt.name, listener)
	bt.t.Cleanup(func() {
		names := []string{q, rococo.DeadLetterQueue(q)}
		for d := time.Millisecond; d <= time.Minute; d = rabbitmq.DelayStep(d + time.Millisecond) {
			names = append(names, rabbitmq.DelayQueue(q, d)) // every delay step a retry may have used
		}
		for _, n := range names {
			if ch, err := bt.admin.Channel(); err == nil {
				_, _ = ch.QueueDelete(n, false, false, false)
				_ = ch.Close()
			}
		}
	})
	return q
}

// run runs s as a BAND service on the broker.
func (bt *busTest) run(s *band.Service, env ...string) *running {
	bt.t.Helper()
	dir := bt.t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("name: "+bt.name+"\n"), 0o600); err != nil {
		bt.t.Fatal(err)
	}
	env = append([]string{"EXECUTION_TYPE=BAND", "MESSAGING_TYPE=RabbitMqConnection", "RABBITMQ_HOST=127.0.0.1",
		"BAND_EVENTS_EXCHANGE=" + bt.events, "BAND_REGISTRY_EXCHANGE=" + bt.registry, "RETRY_BACKOFF=10ms"}, env...)
	info := Info{Name: "bustest", Version: "1.0.0", Transports: map[string]TransportFactory{config.RabbitMQ: rabbitmq.FromEnv}}
	return runAsyncInfo(bt.t, dir, env, info, s)
}

func (bt *busTest) publish(n int, key string) {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range n {
		if err := bt.pub.Publish(ctx, bus.Event{ID: fmt.Sprintf("%s-%d", key, i), Key: key, Time: time.Now()}); err != nil {
			bt.t.Fatal(err)
		}
	}
}

// seen counts the events each listener replica received, by id.
type seen struct {
	mu  sync.Mutex
	ids map[string]int
	by  map[string]int // replica -> events
}

func newSeen() *seen { return &seen{ids: map[string]int{}, by: map[string]int{}} }

func (s *seen) listener(replica string) func(context.Context, bus.Event) error {
	return func(_ context.Context, ev bus.Event) error {
		if ev.Key == "in.gen.track.poison" {
			return rococo.Permanent(fmt.Errorf("poison event %s", ev.ID))
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.ids[ev.ID]++
		s.by[replica]++
		return nil
	}
}

func (s *seen) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.ids {
		n += c
	}
	return n
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// TestBus_listener_events_wait_while_it_is_down: events published while the
// listener's service is stopped wait in its durable queue and all arrive
// when it starts again; keys its patterns do not match never arrive; a
// failing event goes to the dead-letter queue through the router.
func TestBus_listener_events_wait_while_it_is_down(t *testing.T) {
	bt := newBusTest(t)
	q := bt.deleteQueues("store")
	got := newSeen()
	service := func() *band.Service {
		s := band.New()
		band.Listen(s, "store", []string{"in.gen.track", "in.gen.*.click"}, got.listener("a"))
		return s
	}
	r := bt.run(service())
	r.until("/readyz", func(code int, _ string) bool { return code == 200 })
	_, body := get(t, r.url+"/status")
	var st struct {
		Functions []struct {
			Name, Role string
			Options    map[string]any
		}
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st.Functions) != 1 || st.Functions[0].Role != "listener" ||
		fmt.Sprint(st.Functions[0].Options["patterns"]) != "[in.gen.track.# in.gen.*.click]" {
		t.Fatalf("/status = %s (%v)", body, err)
	}
	if code := r.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}

	const n = 2000
	bt.publish(n, "in.gen.track.hit")
	bt.publish(10, "in.gen.shop.click")
	bt.publish(10, "in.gen.shop.hit") // matches no pattern
	bt.publish(1, "in.gen.track.poison")

	r = bt.run(service())
	waitUntil(t, "every event", time.Minute, func() bool { return got.total() >= n+10 })
	ch, err := bt.admin.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	waitUntil(t, "the poison event in the dead-letter queue", 10*time.Second, func() bool {
		info, err := ch.QueueDeclarePassive(rococo.DeadLetterQueue(q), true, false, false, false, nil)
		return err == nil && info.Messages == 1
	})
	if code := r.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.ids) != n+10 {
		t.Fatalf("%d distinct events, want %d", len(got.ids), n+10)
	}
	for id, c := range got.ids {
		if c != 1 {
			t.Errorf("event %s processed %d times", id, c)
		}
	}
	if _, ok := got.ids["in.gen.shop.hit-0"]; ok {
		t.Error("an event no pattern matches reached the listener")
	}
}

// TestBus_listener_replicas_compete: two replicas of a service share the
// listener's queue: every event is processed once, by one of them.
func TestBus_listener_replicas_compete(t *testing.T) {
	bt := newBusTest(t)
	bt.deleteQueues("store")
	got := newSeen()
	var rs []*running
	for _, replica := range []string{"a", "b"} {
		s := band.New()
		band.Listen(s, "store", []string{"in.gen.track"}, got.listener(replica))
		r := bt.run(s)
		r.until("/readyz", func(code int, _ string) bool { return code == 200 })
		rs = append(rs, r)
	}
	const n = 2000
	bt.publish(n, "in.gen.track.hit")
	waitUntil(t, "every event", time.Minute, func() bool { return got.total() >= n })
	for _, r := range rs {
		if code := r.stop(); code != 0 {
			t.Fatalf("exit %d", code)
		}
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.ids) != n {
		t.Fatalf("%d distinct events, want %d", len(got.ids), n)
	}
	for id, c := range got.ids {
		if c != 1 {
			t.Fatalf("event %s processed %d times, want once", id, c)
		}
	}
	if got.by["a"] == 0 || got.by["b"] == 0 {
		t.Fatalf("the replicas processed %v: one of them got nothing", got.by)
	}
	t.Logf("replica a %d, b %d", got.by["a"], got.by["b"])
}

// TestBus_registry: a running service is in the watcher's registry within
// an announce period, leaves it at once when it stops (its last
// announcement says stopped), and an entry that stops being announced (a
// killed service) leaves within the TTL.
func TestBus_registry(t *testing.T) {
	bt := newBusTest(t)
	bt.deleteQueues("store")
	const period, ttl = 100 * time.Millisecond, time.Second
	reg := bus.NewRegistry(ttl, nil)
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan error, 1)
	wb := bt.newBus() // its Close is a cleanup registered before the one below, so it runs after it
	go func() { watched <- reg.Run(ctx, wb, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-watched; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})

	replica := func(name string) *running {
		s := band.New()
		band.Listen(s, "store", []string{"in.gen.track"}, newSeen().listener(name))
		return bt.run(s, "BAND_ANNOUNCE_PERIOD="+period.String())
	}
	r := replica("a")
	start := time.Now()
	waitUntil(t, "the service in the registry", 10*time.Second, func() bool {
		fs := reg.Match(band.RoleListener, "in.gen.track.hit")
		return len(fs) == 1 && fs[0].Service == bt.name && fs[0].Name == "store"
	})
	t.Logf("routable %v after start", time.Since(start))

	// A second replica announces itself too; when it stops, the first
	// one keeps the service in the registry.
	first, _ := reg.Lookup(bt.name)
	if first.Instance == "" {
		t.Fatalf("the announcement names no instance: %+v", first)
	}
	r2 := replica("b")
	waitUntil(t, "the second replica's announcement", 10*time.Second, func() bool {
		st, ok := reg.Lookup(bt.name)
		return ok && st.Instance != first.Instance
	})
	if code := r2.stop(); code != 0 {
		t.Fatalf("the second replica exited %d", code)
	}
	time.Sleep(3 * period) // the stop, and the first replica's next announcements, arrived
	if _, ok := reg.Lookup(bt.name); !ok {
		t.Fatal("the service left the registry when one of its two replicas stopped")
	}
	if code := r.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, ok := reg.Lookup(bt.name); ok {
		t.Fatal("the stopped service is still in the registry")
	}

	// A killed service announces no stop: it leaves after the TTL.
	killed := bt.newBus()
	doc := []byte(`{"service":"` + bt.name + `-killed","state":"ready","functions":[]}`)
	firstSent := time.Now() // every entry's TTL runs from a receipt after it
	waitUntil(t, "the announced service in the registry", 10*time.Second, func() bool {
		actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer acancel()
		if err := killed.Announce(actx, doc); err != nil {
			t.Fatal(err)
		}
		_, ok := reg.Lookup(bt.name + "-killed")
		return ok
	})
	waitUntil(t, "the killed service to leave", 10*time.Second, func() bool {
		_, ok := reg.Lookup(bt.name + "-killed")
		return !ok
	})
	if gone := time.Since(firstSent); gone < ttl {
		t.Fatalf("the killed service left %v after its first announcement, before the TTL %v", gone, ttl)
	}
}

// TestBus_functions_need_rabbitmq: a listener or an enricher without a
// RabbitMQ transport is a configuration error (exit 2, one line).
func TestBus_functions_need_rabbitmq(t *testing.T) {
	type geoIn struct {
		IP string `json:"ip"`
	}
	for _, tc := range []struct {
		name     string
		register func(s *band.Service)
		want     string
	}{
		{"listener", func(s *band.Service) { band.Listen(s, "store", []string{"in.gen.track"}, newSeen().listener("a")) },
			"the band listener store receives events over RabbitMQ's topic routing (SQS has none)"},
		{"enricher", func(s *band.Service) {
			band.Enrich(s, "geo", []string{"in.gen.track"}, map[string]string{"ip": "td.ip"},
				func(context.Context, geoIn) (map[string]string, error) { return nil, nil })
		}, "the band enricher geo answers the gateway over RabbitMQ's request/reply (SQS has none)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := band.New()
			tc.register(s)
			stderr := &rococotest.Buffer{}
			o := options{stdout: &rococotest.Buffer{}, stderr: stderr, dir: t.TempDir()}
			code := o.run(context.Background(), []string{"svc"}, []string{"EXECUTION_TYPE=BAND", "HEALTH_ADDR=127.0.0.1:0"}, testInfo(), s)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr = %s, want a line containing %q", stderr.String(), tc.want)
			}
		})
	}
}
