package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/leader"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

func testLock(t *testing.T, name string) leader.Lock {
	t.Helper()
	cfg, err := config.Load([]string{"EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=P", "CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=hours", "MESSAGING_TYPE=RabbitMqConnection", "RABBITMQ_HOST=127.0.0.1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := FromEnv(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tc.(leader.Locker).Lock(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestQueueLock_one_holder_at_a_time runs against the real broker: the
// exclusive queue goes to one connection; the others get ErrHeld until it
// is released or its connection dies.
func TestQueueLock_one_holder_at_a_time(t *testing.T) {
	rococotest.RequireBroker(t, brokerAddr)
	name := fmt.Sprintf("rococo.test.lock.%d", time.Now().UnixNano())
	a, b := testLock(t, name), testLock(t, name)
	ctx := context.Background()
	la, err := a.TryAcquire(ctx)
	if err != nil {
		t.Fatalf("a.TryAcquire() = %v", err)
	}
	if err := la.Check(ctx); err != nil {
		t.Errorf("a's Check() = %v, want nil while held", err)
	}
	if _, err := b.TryAcquire(ctx); !errors.Is(err, leader.ErrHeld) {
		t.Fatalf("b.TryAcquire() while a holds = %v, want ErrHeld", err)
	}
	// a's connection dies (as when its process is killed): the lease is
	// lost and b can take the lock at once.
	la.(*queueLease).conn.Close()
	select {
	case <-la.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("a's lease is not lost after its connection closed")
	}
	if err := la.Check(ctx); err == nil {
		t.Error("a's Check() after its connection closed = nil, want an error")
	}
	lb, err := b.TryAcquire(ctx)
	if err != nil {
		t.Fatalf("b.TryAcquire() after a's connection closed = %v", err)
	}
	if err := lb.Release(); err != nil {
		t.Errorf("b's Release() = %v", err)
	}
	if err := lb.Release(); err != nil {
		t.Errorf("b's second Release() = %v, want nil", err)
	}
	la2, err := a.TryAcquire(ctx)
	if err != nil {
		t.Fatalf("a.TryAcquire() after b released = %v", err)
	}
	la2.Release()
}

func TestLock_refuses_a_bad_queue_name(t *testing.T) {
	if _, err := (envConfig{}).Lock("amq.bad", nil); err == nil || !strings.Contains(err.Error(), `invalid queue name "amq.bad"`) {
		t.Errorf("Lock(amq.bad) = %v, want an error naming the queue", err)
	}
}
