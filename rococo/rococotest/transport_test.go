package rococotest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/rococotest"
	"github.com/rococo-go/rococo/rococo/transporttest"
)

func TestTransportContract(t *testing.T) {
	transporttest.Run(t, func(*testing.T) rococo.Transport { return rococotest.NewTransport() },
		transporttest.Features{
			GuaranteedOrder: true, RetryDelay: 100 * time.Millisecond, Timeout: 5 * time.Second, QuietPeriod: 100 * time.Millisecond,
			BreakMoves: func(_ *testing.T, tr rococo.Transport, queue string) func() {
				mem := tr.(*rococotest.Transport)
				mem.FailMoves(queue, errors.New("retry and dead-letter queues unreachable"))
				return func() { mem.FailMoves(queue, nil) }
			},
		})
}

func next(t *testing.T, ch <-chan rococo.Delivery) rococo.Delivery {
	t.Helper()
	select {
	case d, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery within 5s")
	}
	return nil
}

func TestInspectionHelpers(t *testing.T) {
	ctx := t.Context()
	tr := rococotest.NewTransport()
	defer tr.Close()
	if err := tr.Publish(ctx, "q", &rococo.Message{Body: []byte(`1`)}, &rococo.Message{Body: []byte(`2`)}, &rococo.Message{Body: []byte(`3`)}); err != nil {
		t.Fatal(err)
	}
	if got := tr.Len("q"); got != 3 {
		t.Fatalf("Len = %d, want 3", got)
	}
	if got := tr.Messages("q"); len(got) != 3 || string(got[0].Body) != "1" || got[0].ID == "" || got[0].ID == got[1].ID {
		t.Fatalf("Messages = %+v", got)
	}
	ch, err := tr.Consume(ctx, "q", rococo.ConsumeOptions{Prefetch: 3})
	if err != nil {
		t.Fatal(err)
	}
	d1, d2, d3 := next(t, ch), next(t, ch), next(t, ch)
	if s := tr.Stats("q"); s.Unsettled != 3 || s.Ready != 0 {
		t.Fatalf("Stats after 3 deliveries = %+v", s)
	}
	if err := d1.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d1.Ack(ctx); !errors.Is(err, rococotest.ErrSettled) {
		t.Errorf("second Ack = %v, want ErrSettled", err)
	}
	if err := d2.Retry(ctx, time.Hour, errors.New("later")); err != nil {
		t.Fatal(err)
	}
	if err := d3.DeadLetter(ctx, errors.New("bad")); err != nil {
		t.Fatal(err)
	}
	want := rococotest.Stats{Delayed: 1, Acked: 1, Retried: 1, DeadLettered: 1}
	if got := tr.Stats("q"); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if got := tr.Acked("q"); got != 1 {
		t.Errorf("Acked = %d, want 1", got)
	}
	r := tr.Retries("q")
	if len(r) != 1 || r[0].Delay != time.Hour || r[0].Err != "later" || r[0].Attempt != 1 || r[0].ID != d2.Message().ID {
		t.Errorf("Retries = %+v", r)
	}
	dl := tr.DeadLetters("q")
	if len(dl) != 1 || dl[0].Header(rococo.HeaderError) != "bad" || dl[0].Header(rococo.HeaderOriginalQueue) != "q" || dl[0].Header(rococo.HeaderAttempt) != "1" {
		t.Errorf("DeadLetters = %+v", dl)
	}
	if got := tr.Stats("missing"); got != (rococotest.Stats{}) {
		t.Errorf("Stats(missing) = %+v", got)
	}
}

func TestExitWhenFinishedWaitsForDelayedRetry(t *testing.T) {
	ctx := t.Context()
	tr := rococotest.NewTransport()
	defer tr.Close()
	if err := tr.Publish(ctx, "q", &rococo.Message{Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	ch, err := tr.Consume(ctx, "q", rococo.ConsumeOptions{ExitWhenFinished: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := next(t, ch).Retry(ctx, 50*time.Millisecond, errors.New("x")); err != nil {
		t.Fatal(err)
	}
	d := next(t, ch) // the retry, not a close
	if d.Message().Attempt != 2 || d.Message().Header(rococo.HeaderAttempt) != "2" {
		t.Errorf("retried message = %+v", d.Message())
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("unexpected delivery")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed")
	}
}

func TestReadyAndClosed(t *testing.T) {
	tr := rococotest.NewTransport()
	if err := tr.Ready(); err != nil {
		t.Fatalf("Ready() = %v", err)
	}
	lost := errors.New("connection lost")
	tr.SetNotReady(lost)
	if err := tr.Ready(); !errors.Is(err, lost) {
		t.Fatalf("Ready() = %v, want %v", err, lost)
	}
	tr.SetNotReady(nil)
	tr.Close()
	if err := tr.Ready(); !errors.Is(err, rococotest.ErrClosed) {
		t.Errorf("Ready() after Close = %v, want ErrClosed", err)
	}
	if err := tr.Publish(context.Background(), "q", &rococo.Message{}); !errors.Is(err, rococotest.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if _, err := tr.Consume(context.Background(), "q", rococo.ConsumeOptions{}); !errors.Is(err, rococotest.ErrClosed) {
		t.Errorf("Consume after Close = %v, want ErrClosed", err)
	}
}

func TestPublishCopiesMessage(t *testing.T) {
	tr := rococotest.NewTransport()
	defer tr.Close()
	m := &rococo.Message{ID: "mine", Body: []byte(`{"a":1}`), Headers: map[string]string{"h": "1"}, Attempt: 7}
	if err := tr.Publish(t.Context(), "q", m); err != nil {
		t.Fatal(err)
	}
	m.Body[2] = 'X'
	m.Headers["h"] = "2"
	got := tr.Messages("q")[0]
	if string(got.Body) != `{"a":1}` || got.Header("h") != "1" || got.Attempt != 1 || got.ID == "mine" || got.Queue != "q" {
		t.Errorf("published message = %+v", got)
	}
}
