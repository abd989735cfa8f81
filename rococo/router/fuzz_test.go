package router

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
)

// countingDelivery records how a delivery was settled.
type countingDelivery struct {
	m                                *rococo.Message
	acks, retries, letters, releases int
	cause                            error
}

func (d *countingDelivery) Message() *rococo.Message { return d.m }
func (d *countingDelivery) Ack(context.Context) error {
	d.acks++
	return nil
}
func (d *countingDelivery) Retry(_ context.Context, _ time.Duration, cause error) error {
	d.retries++
	d.cause = cause
	return nil
}
func (d *countingDelivery) Release(context.Context, time.Duration) error {
	d.releases++
	return nil
}
func (d *countingDelivery) DeadLetter(_ context.Context, cause error) error {
	d.letters++
	d.cause = cause
	return nil
}

// FuzzRouterBodyCheck feeds arbitrary bodies through the router's decision:
// every delivery is settled exactly once; a body that is not valid JSON is
// dead-lettered with ErrInvalidJSON without reaching the processor; a valid
// one reaches it and is acked.
func FuzzRouterBodyCheck(f *testing.F) {
	for _, seed := range []string{`{}`, `{"a":[1,2,3]}`, `"x"`, `nul`, ``, `{"a":1,}`, "\x00", `{"k":"\u00e9"}`, "[" + "[]" + "]"} {
		f.Add([]byte(seed), 1)
	}
	f.Add([]byte(`{"late":true}`), 99)
	tr := nopTransport{}
	f.Fuzz(func(t *testing.T, body []byte, attempt int) {
		called := 0
		r, err := New(tr, rococo.MessageProcessorFunc(func(_ context.Context, m *rococo.Message) error {
			called++
			var v any
			return m.Decode(&v)
		}), Config{Queue: "q"})
		if err != nil {
			t.Fatal(err)
		}
		d := &countingDelivery{m: &rococo.Message{ID: "m", Queue: "q", Body: body, Attempt: attempt}}
		ctx := context.Background()
		r.handle(ctx, ctx, d)
		if n := d.acks + d.retries + d.letters + d.releases; n != 1 {
			t.Fatalf("settled %d times (ack %d, retry %d, dead-letter %d, release %d), want once", n, d.acks, d.retries, d.letters, d.releases)
		}
		if json.Valid(body) {
			if called != 1 || d.acks != 1 {
				t.Fatalf("valid body %q: processor called %d times, acks %d", body, called, d.acks)
			}
			return
		}
		if called != 0 || d.letters != 1 || !errors.Is(d.cause, ErrInvalidJSON) {
			t.Fatalf("invalid body %q: processor called %d times, dead letters %d, cause %v", body, called, d.letters, d.cause)
		}
	})
}

// nopTransport satisfies New; handle never calls it.
type nopTransport struct{}

func (nopTransport) Publish(context.Context, string, ...*rococo.Message) error { return nil }
func (nopTransport) Consume(context.Context, string, rococo.ConsumeOptions) (<-chan rococo.Delivery, error) {
	return nil, errors.New("not consumable")
}
func (nopTransport) Ready() error { return nil }
func (nopTransport) Close() error { return nil }
