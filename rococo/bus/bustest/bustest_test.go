package bustest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/bus"
)

func TestCallServe(t *testing.T) {
	var b Bus
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	if _, err := b.Call(ctx, "geo", "lookup", nil); !errors.Is(err, bus.ErrNoRoute) {
		t.Fatalf("Call with no replica: %v, want ErrNoRoute", err)
	}
	if _, err := b.Call(context.Background(), "geo", "lookup", nil); !errors.Is(err, bus.ErrNoDeadline) {
		t.Fatalf("Call without a deadline: %v, want ErrNoDeadline", err)
	}

	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- b.Serve(sctx, "geo", "lookup", func(_ context.Context, body []byte) ([]byte, error) {
			if string(body) == "fail" {
				return nil, errors.New("no such ip")
			}
			return append([]byte("re:"), body...), nil
		})
	}()
	for b.Serving("geo", "lookup") == 0 {
		time.Sleep(time.Millisecond)
	}
	out, err := b.Call(ctx, "geo", "lookup", []byte("1.2.3.4"))
	if err != nil || string(out) != "re:1.2.3.4" {
		t.Fatalf("Call = %q, %v", out, err)
	}
	_, err = b.Call(ctx, "geo", "lookup", []byte("fail"))
	var ce *bus.CallError
	if !errors.As(err, &ce) || ce.Service != "geo" || ce.Function != "lookup" || ce.Message != "no such ip" {
		t.Fatalf("Call of a failing function: %v, want a CallError", err)
	}
	stop()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if n := b.Serving("geo", "lookup"); n != 0 {
		t.Fatalf("%d replicas after Serve returned", n)
	}
}

func TestCallDeadline(t *testing.T) {
	var b Bus
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	go b.Serve(sctx, "slow", "f", func(ctx context.Context, _ []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	for b.Serving("slow", "f") == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Call(ctx, "slow", "f", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call past its deadline: %v", err)
	}
}

func TestPublishAnnounceWatch(t *testing.T) {
	var b Bus
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Publish(ctx, bus.Event{ID: "1", Key: "in.gen.a.b"}); err != nil {
		t.Fatal(err)
	}
	if ev := b.Events(); len(ev) != 1 || ev[0].ID != "1" {
		t.Fatalf("Events = %+v", ev)
	}

	wctx, stop := context.WithCancel(ctx)
	got := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- b.Watch(wctx, func(doc []byte) { got <- string(doc) }) }()
	for b.Watching() == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := b.Announce(ctx, []byte(`{"service":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if d := <-got; d != `{"service":"x"}` {
		t.Fatalf("watched %q", d)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if err := b.Announce(ctx, []byte(`{}`)); err != nil {
		t.Fatalf("Announce with no watcher: %v", err)
	}
}
