package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/bus"
)

func TestBusPublishRoutesByPattern(t *testing.T) {
	e := newBusEnv(t, BusOptions{})
	ctx := testCtx(t)
	track, star := e.queue("track"), e.queue("star")
	if err := e.bus.Bind(ctx, track, []bus.Pattern{mustPattern(t, "in.gen.track")}); err != nil {
		t.Fatal(err)
	}
	if err := e.bus.Bind(ctx, star, []bus.Pattern{mustPattern(t, "in.gen.*.hit"), mustPattern(t, "in.gen.x.#")}); err != nil {
		t.Fatal(err)
	}
	for i, key := range []string{"in.gen.track.hit", "in.gen.track.click", "in.gen.other.hit", "in.gen.x.y", "in.gen.none.click"} {
		ev := bus.Event{ID: fmt.Sprint(i), Key: key, Time: time.Unix(1700000000, 0).UTC(), Service: "s", Name: "n", TD: bus.TD{IP: "1.2.3.4"}, Data: map[string]any{"a": 1.0}}
		if err := e.bus.Publish(ctx, ev); err != nil {
			t.Fatalf("Publish(%s): %v", key, err)
		}
	}
	keys := func(bodies []string) []string {
		var out []string
		for _, b := range bodies {
			var ev bus.Event
			if err := json.Unmarshal([]byte(b), &ev); err != nil {
				t.Fatalf("a routed message is not an event: %v: %s", err, b)
			}
			out = append(out, ev.Key)
		}
		return out
	}
	if got, want := keys(e.take(track)), []string{"in.gen.track.hit", "in.gen.track.click"}; !slices.Equal(got, want) {
		t.Errorf("the track queue got %q, want %q", got, want)
	}
	if got, want := keys(e.take(star)), []string{"in.gen.track.hit", "in.gen.other.hit", "in.gen.x.y"}; !slices.Equal(got, want) {
		t.Errorf("the star queue got %q, want %q", got, want)
	}
}

func TestBusPublishEventJSON(t *testing.T) {
	e := newBusEnv(t, BusOptions{})
	ctx := testCtx(t)
	q := e.queue("json")
	if err := e.bus.Bind(ctx, q, []bus.Pattern{mustPattern(t, "#")}); err != nil {
		t.Fatal(err)
	}
	ev := bus.Event{ID: "id1", Key: "in.gen.track.hit", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Service: "track", Name: "hit",
		UID: "u1", ProjectID: 7, TD: bus.TD{IP: "1.2.3.4", UA: "ua", Ref: "https://r/", Host: "h"}, Data: map[string]any{"k": "v"}}
	if err := e.bus.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got := e.take(q)
	want := `{"id":"id1","key":"in.gen.track.hit","time":"2026-01-02T03:04:05Z","service":"track","name":"hit","uid":"u1","projectId":7,` +
		`"td":{"ip":"1.2.3.4","ua":"ua","ref":"https://r/","host":"h"},"data":{"k":"v"}}`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("published %q\nwant      %q", got, want)
	}
	if err := e.bus.Publish(ctx, bus.Event{ID: "x"}); err == nil {
		t.Fatal("Publish of an event without a key succeeded")
	}
}

func serve(t *testing.T, b *Bus, service, function string, h bus.CallHandler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, service, function, h) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve(%s.%s): %v", service, function, err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitServed calls until the function answers (Serve declares its queue
// asynchronously).
func waitServed(t *testing.T, b *Bus, service, function string) {
	t.Helper()
	waitFor(t, service+"."+function+" served", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := b.Call(ctx, service, function, []byte("ping"))
		return !errors.Is(err, bus.ErrNoRoute)
	})
}

func TestBusCall(t *testing.T) {
	e := newBusEnv(t, BusOptions{})
	svc := e.id
	server := e.newBus()
	serve(t, server, svc, "echo", func(_ context.Context, body []byte) ([]byte, error) {
		if string(body) == "fail" {
			return nil, errors.New("no such ip")
		}
		return append([]byte("re:"), body...), nil
	})
	waitServed(t, e.bus, svc, "echo")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := e.bus.Call(ctx, svc, "echo", []byte("1.2.3.4"))
	if err != nil || string(out) != "re:1.2.3.4" {
		t.Fatalf("Call = %q, %v", out, err)
	}
	_, err = e.bus.Call(ctx, svc, "echo", []byte("fail"))
	var ce *bus.CallError
	if !errors.As(err, &ce) || ce.Message != "no such ip" || ce.Function != "echo" {
		t.Fatalf("Call of a failing function = %v, want a CallError", err)
	}
	// Concurrent calls each get their own reply.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			out, err := e.bus.Call(ctx, svc, "echo", fmt.Append(nil, i))
			if err != nil || string(out) != fmt.Sprint("re:", i) {
				t.Errorf("call %d = %q, %v", i, out, err)
			}
		})
	}
	wg.Wait()
	if _, err := e.bus.Call(context.Background(), svc, "echo", nil); !errors.Is(err, bus.ErrNoDeadline) {
		t.Fatalf("Call without a deadline = %v, want ErrNoDeadline", err)
	}
}

func TestBusCallWithoutReplicaFailsAtOnce(t *testing.T) {
	e := newBusEnv(t, BusOptions{})
	// A long deadline: ErrNoRoute must come from the broker's return, not
	// from the deadline (which would give DeadlineExceeded).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := e.bus.Call(ctx, e.id, "nobody", []byte("x")); !errors.Is(err, bus.ErrNoRoute) {
		t.Fatalf("Call with no replica = %v, want ErrNoRoute", err)
	}

	// A replica that stops: its queue goes with it, and calls fail at once again.
	stop := serve(t, e.newBus(), e.id, "gone", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
	waitServed(t, e.bus, e.id, "gone")
	stop()
	waitFor(t, "the stopped replica's queue to go", func() bool {
		_, err := e.bus.Call(ctx, e.id, "gone", nil)
		return errors.Is(err, bus.ErrNoRoute)
	})
}

func TestBusServeReplicasCompete(t *testing.T) {
	e := newBusEnv(t, BusOptions{ServeConcurrency: 1})
	var counts, pings [2]atomic.Int64
	for i := range counts {
		serve(t, e.newBus(), e.id, "f", func(_ context.Context, body []byte) ([]byte, error) {
			if string(body) == "ping" {
				pings[i].Add(1)
				return body, nil
			}
			counts[i].Add(1)
			time.Sleep(2 * time.Millisecond)
			return body, nil
		})
	}
	waitServed(t, e.bus, e.id, "f")
	// Wait until both replicas consume: each has answered a ping.
	waitFor(t, "both replicas to consume", func() bool {
		waitServed(t, e.bus, e.id, "f")
		return pings[0].Load() > 0 && pings[1].Load() > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := e.bus.Call(ctx, e.id, "f", fmt.Append(nil, i)); err != nil {
				t.Errorf("call %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	a, b := counts[0].Load(), counts[1].Load()
	if a+b != n {
		t.Fatalf("the replicas ran %d+%d calls, want %d in all (each call once)", a, b, n)
	}
	if a == 0 || b == 0 {
		t.Fatalf("one replica ran every call (%d, %d): they do not compete", a, b)
	}
}

func TestBusServeDropsExpiredCalls(t *testing.T) {
	e := newBusEnv(t, BusOptions{ServeConcurrency: 1})
	release := make(chan struct{})
	var seen sync.Map
	serve(t, e.newBus(), e.id, "slow", func(_ context.Context, body []byte) ([]byte, error) {
		seen.Store(string(body), true)
		if string(body) == "block" {
			<-release
		}
		return body, nil
	})
	waitServed(t, e.bus, e.id, "slow")

	blocked := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := e.bus.Call(ctx, e.id, "slow", []byte("block"))
		blocked <- err
	}()
	waitFor(t, "the blocking call to run", func() bool { _, ok := seen.Load("block"); return ok })
	// With the only slot busy, this call waits in the queue past its deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := e.bus.Call(ctx, e.id, "slow", []byte("late")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the late call = %v, want DeadlineExceeded", err)
	}
	close(release)
	if err := <-blocked; err != nil {
		t.Fatalf("the blocking call: %v", err)
	}
	// A call after the late one: once it is answered, the late one was
	// dropped (the queue is FIFO), never run.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if _, err := e.bus.Call(ctx2, e.id, "slow", []byte("after")); err != nil {
		t.Fatal(err)
	}
	if _, ran := seen.Load("late"); ran {
		t.Fatal("the handler ran a call whose deadline had passed")
	}
}

func TestBusAnnounceWatch(t *testing.T) {
	e := newBusEnv(t, BusOptions{})
	got := [2]chan string{make(chan string, 100), make(chan string, 100)}
	for i := range 2 {
		w := e.newBus()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Watch(ctx, func(doc []byte) { got[i] <- string(doc) }) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Watch: %v", err)
			}
		})
	}
	ctx := testCtx(t)
	// The watchers bind asynchronously: announce until both have one.
	waitFor(t, "both watchers to receive an announcement", func() bool {
		if err := e.bus.Announce(ctx, []byte(`{"service":"a"}`)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		return len(got[0]) > 0 && len(got[1]) > 0
	})
	for i := range got {
		for len(got[i]) > 0 {
			if d := <-got[i]; d != `{"service":"a"}` {
				t.Fatalf("watcher %d got %q", i, d)
			}
		}
	}
}

func mustPattern(t testing.TB, p string) bus.Pattern {
	t.Helper()
	pt, err := bus.ParsePattern(p)
	if err != nil {
		t.Fatal(err)
	}
	return pt
}

// dropConnection closes b's connection from the client side, as a lost
// connection does.
func dropConnection(t *testing.T, b *Bus) {
	t.Helper()
	b.mu.Lock()
	conn := b.conn
	b.mu.Unlock()
	if conn == nil {
		t.Fatal("the bus has no connection to drop")
	}
	_ = conn.Close()
}

func TestBusReconnects(t *testing.T) {
	e := newBusEnv(t, BusOptions{})
	server := e.newBus()
	serve(t, server, e.id, "echo", func(_ context.Context, body []byte) ([]byte, error) { return body, nil })
	waitServed(t, e.bus, e.id, "echo")
	q := e.queue("events")
	ctx := testCtx(t)
	if err := e.bus.Bind(ctx, q, []bus.Pattern{mustPattern(t, "#")}); err != nil {
		t.Fatal(err)
	}
	if err := e.bus.Publish(ctx, bus.Event{ID: "1", Key: "in.gen.a.b"}); err != nil {
		t.Fatal(err)
	}

	dropConnection(t, server)
	dropConnection(t, e.bus)
	// The caller reconnects on its next call; Serve declares its queue
	// again after a backoff: ErrNoRoute until then.
	waitFor(t, "a call answered after both connections were lost", func() bool {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		out, err := e.bus.Call(cctx, e.id, "echo", []byte("again"))
		return err == nil && string(out) == "again"
	})
	if err := e.bus.Publish(ctx, bus.Event{ID: "2", Key: "in.gen.a.b"}); err != nil {
		t.Fatalf("Publish after the connection was lost: %v", err)
	}
	if got := e.take(q); len(got) != 2 {
		t.Fatalf("%d events in the queue, want 2", len(got))
	}
}
