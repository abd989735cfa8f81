package rabbitmq

import (
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
)

// TestPublishRefusesInvalidJSON: a body that is not JSON is refused before
// anything is sent (a Python consumer would crash on it); Python's NaN and
// Infinity are JSON to Python, so they are sent.
func TestPublishRefusesInvalidJSON(t *testing.T) {
	tr := newTransport(t, testConfig())
	q := queueName(t)
	ctx := ctxTimeout(t, 30*time.Second)
	if err := tr.Publish(ctx, q, msg(`{"n": NaN, "i": -Infinity}`, nil)); err != nil {
		t.Fatalf("Publish(Python's NaN) = %v", err)
	}
	for _, body := range []string{`not json`, `{"a":`, ``} {
		err := tr.Publish(ctx, q, msg(`{"ok":1}`, nil), msg(body, nil))
		if err == nil || !strings.Contains(err.Error(), "message 1 (nothing sent)") || !strings.Contains(err.Error(), "not valid JSON") {
			t.Errorf("Publish(%q) = %v, want an error naming message 1 as not valid JSON", body, err)
		}
	}
	dels, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 4})
	if err != nil {
		t.Fatal(err)
	}
	d := receive(t, dels)
	if got := string(d.Message().Body); got != `{"n": NaN, "i": -Infinity}` {
		t.Errorf("first message = %s, want the NaN one (nothing else was sent)", got)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-dels:
		t.Errorf("unexpected message %s: a refused publish sent something", d.Message().Body)
	case <-time.After(500 * time.Millisecond):
	}
}
