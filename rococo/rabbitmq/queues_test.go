package rabbitmq

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

func TestDelayStep(t *testing.T) {
	tests := []struct {
		in, want time.Duration
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Microsecond, time.Millisecond},
		{7 * time.Millisecond, 7 * time.Millisecond},
		{11 * time.Millisecond, 12 * time.Millisecond},
		{300 * time.Millisecond, 300 * time.Millisecond},
		{301 * time.Millisecond, 400 * time.Millisecond},
		{1800 * time.Millisecond, 2 * time.Second},
		{4 * time.Second, 4 * time.Second},
		{81 * time.Second, 100 * time.Second},
		{5 * time.Minute, 5 * time.Minute},
		{301 * time.Second, 400 * time.Second},
		{100 * 24 * time.Hour, maxDelay},
	}
	for _, tt := range tests {
		if got := DelayStep(tt.in); got != tt.want {
			t.Errorf("DelayStep(%v) = %v, want %v", tt.in, got, tt.want)
		}
		if got := DelayStep(tt.in); got < tt.in && tt.in < maxDelay {
			t.Errorf("DelayStep(%v) = %v: rounded down", tt.in, got)
		}
		if got := DelayStep(tt.in); tt.in > 10*time.Millisecond && tt.in < maxDelay && 3*float64(got) > 4*float64(tt.in) {
			t.Errorf("DelayStep(%v) = %v: more than a third late", tt.in, got)
		}
	}
	if got, want := DelayQueue("orders", 1800*time.Millisecond), "orders.retry.2000"; got != want {
		t.Errorf("DelayQueue = %q, want %q", got, want)
	}
}

// TestForeignOwnedQueueRefusedAtStart: a delay or dead-letter queue that
// exists with other arguments than the transport declares is refused when
// consuming starts, with a *config.Error naming the queue and the fix, and
// no message is taken from the queue.
func TestForeignOwnedQueueRefusedAtStart(t *testing.T) {
	tests := []struct {
		name  string
		queue func(q string) string
		args  amqp.Table
	}{
		{"dead-letter queue with a TTL", rococo.DeadLetterQueue, amqp.Table{"x-message-ttl": int32(60000)}},
		{"dead-letter queue with a max length", rococo.DeadLetterQueue, amqp.Table{"x-max-length": int32(10)}},
		{"delay queue without arguments", func(q string) string { return DelayQueue(q, time.Second) }, nil},
		{"delay queue with another TTL", func(q string) string { return DelayQueue(q, time.Second) }, amqp.Table{
			"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "elsewhere", "x-message-ttl": int32(1000),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTransport(t, testConfig())
			a := newAdmin(t)
			q := queueName(t)
			ctx := ctxTimeout(t, 30*time.Second)
			foreign := tt.queue(q)
			if _, err := a.channel().QueueDeclare(foreign, true, false, false, false, tt.args); err != nil {
				t.Fatal(err)
			}
			if err := tr.Publish(ctx, q, msg(`{"keep":1}`, nil)); err != nil {
				t.Fatal(err)
			}
			_, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1})
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Consume() = %v, want a *config.Error", err)
			}
			line := ce.Error()
			if !strings.Contains(line, `"`+foreign+`"`) || !strings.Contains(line, "delete") || strings.Contains(line, "\n") {
				t.Errorf("error %q: want one line naming %q and the fix", line, foreign)
			}
			if n := a.count(q); n != 1 {
				t.Errorf("queue holds %d messages after the refused start, want 1", n)
			}
		})
	}
}

// TestServiceExitsOnForeignDeadLetterQueue: the service refuses a
// dead-letter queue with a TTL at start: exit status 2 and one line naming
// the queue.
func TestServiceExitsOnForeignDeadLetterQueue(t *testing.T) {
	bin := buildService(t)
	a := newAdmin(t)
	q := queueName(t)
	dlq := rococo.DeadLetterQueue(q)
	if _, err := a.channel().QueueDeclare(dlq, true, false, false, false, amqp.Table{"x-message-ttl": int32(1000)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := startService(t, bin, svcEnv{queue: q, outbox: filepath.Join(dir, "outbox.jsonl"), healthPort: freePort(t)})
	if code := s.Wait(30 * time.Second); code != 2 {
		t.Fatalf("exit status = %d, want 2\n%s", code, s.Output())
	}
	found := false
	for _, line := range strings.Split(s.Output(), "\n") {
		if strings.HasPrefix(line, "invalid EmailServiceProcessor_QUEUE_NAME=") && strings.Contains(line, `delete "`+dlq+`"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no plain line naming EmailServiceProcessor_QUEUE_NAME and the fix for %q in the output", dlq)
	}
}

// TestPermanentConnectionErrorsNameTheSetting: an unknown virtual host or a
// refused login fails Consume at once with a *config.Error naming the
// variable to fix, instead of being retried forever.
func TestPermanentConnectionErrorsNameTheSetting(t *testing.T) {
	rococotestBroker(t)
	tests := []struct {
		name    string
		edit    func(*Config)
		wantVar string
	}{
		{"unknown virtual host", func(c *Config) { c.VirtualHost = "rococo-no-such-vhost" }, "RABBITMQ_VIRTUAL_HOST"},
		{"wrong password", func(c *Config) { c.Password = "not-the-password" }, "RABBITMQ_USER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(&cfg)
			tr := newTransport(t, cfg)
			ctx := ctxTimeout(t, 20*time.Second)
			_, err := tr.Consume(ctx, queueName(t), rococo.ConsumeOptions{})
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Var != tt.wantVar {
				t.Fatalf("Consume() = %v, want a *config.Error naming %s", err, tt.wantVar)
			}
			if ctx.Err() != nil {
				t.Fatalf("Consume() waited for its ctx instead of failing at once: %v", err)
			}
			if strings.Contains(err.Error(), "not-the-password") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}
