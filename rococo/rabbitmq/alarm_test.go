package rabbitmq

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
)

// TestMemoryAlarmKeepsConsuming: during a memory alarm on the broker (the
// test's own node), the service keeps consuming and acking with 10% of its
// messages failing (their retry copies cannot be published), /readyz and
// rococo_broker_blocked report the blocked publisher, and once the alarm
// ends the failing messages reach the dead-letter queue: nothing is lost.
func TestMemoryAlarmKeepsConsuming(t *testing.T) {
	bin := buildService(t)
	const total, failing = 600, 60
	q := "rococo-test.alarm"
	n, restore := alarmWithEmails(t, q, total, failing)

	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	health := freePort(t)
	s := startService(t, bin, svcEnv{queue: q, outbox: outbox, threads: 4, delay: "2ms", maxRetries: 3,
		retryBackoff: "200ms", failDomain: "fail.example", healthPort: health, port: n.port})
	start := time.Now()
	got := waitOutbox(t, outbox, total-failing, 30*time.Second, s)
	t.Logf("%d of %d good messages processed %v into the alarm", len(got), total-failing, time.Since(start).Round(time.Millisecond))
	code, body := get(health, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "blocks the publish connection") {
		t.Errorf("/readyz during the alarm = %d %q, want 503 naming the blocked publish connection", code, body)
	}
	if _, metrics := get(health, "/metrics"); !strings.Contains(metrics, "rococo_broker_blocked 1") {
		t.Errorf("/metrics during the alarm lacks rococo_broker_blocked 1")
	}

	restore()
	a := n.admin()
	// Every failing message reaches the dead-letter queue once publishing
	// works again (a copy whose confirm the block cut off may arrive twice).
	dead := map[string]int{}
	deadline := time.Now().Add(30 * time.Second)
	for len(dead) < failing {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d failing messages in the dead-letter queue 30s after the alarm ended", len(dead), failing)
		}
		d, ok, err := a.channel().Get(rococo.DeadLetterQueue(q), true)
		if err != nil || !ok {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		var e struct{ ID string }
		_ = json.Unmarshal(d.Body, &e)
		dead[e.ID]++
	}
	dups := 0
	for _, c := range dead {
		dups += c - 1
	}
	t.Logf("%d failing messages dead-lettered after the alarm, %d duplicate copies", len(dead), dups)
	deadline = time.Now().Add(20 * time.Second)
	for code, _ := get(health, "/readyz"); code != http.StatusOK; code, _ = get(health, "/readyz") {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d 20s after the alarm ended", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Signal(syscall.SIGTERM)
	if code := s.Wait(30 * time.Second); code != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0", code)
	}
	if c := a.count(q); c != 0 {
		t.Errorf("queue holds %d messages at the end, want 0", c)
	}
}

// alarmWithEmails starts a node of the test's own, publishes total emails
// to q (failing of them to the failing domain), then sets a memory alarm
// on the node. restore ends the alarm; it runs at the test's end too.
func alarmWithEmails(t *testing.T, q string, total, failing int) (n *node, restore func()) {
	t.Helper()
	n = startNode(t)
	tr, err := New(n.config(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	msgs := make([]*rococo.Message, total)
	for i := range msgs {
		to := fmt.Sprintf("user%d@example.com", i)
		if i%(total/failing) == 0 {
			to = fmt.Sprintf("user%d@fail.example", i)
		}
		body, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("%s-%d", q, i), "to": to, "subject": "hello"})
		msgs[i] = &rococo.Message{Body: body}
	}
	if err := tr.Publish(ctxTimeout(t, 60*time.Second), q, msgs...); err != nil {
		t.Fatal(err)
	}
	n.ctl("set_vm_memory_high_watermark", "0.0000001")
	restored := false
	restore = func() {
		if !restored {
			restored = true
			n.ctl("set_vm_memory_high_watermark", "0.4")
		}
	}
	t.Cleanup(restore)
	return n, restore
}

// get returns the status and body of GET path on the health port (0 when
// nothing answers).
func get(port int, path string) (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSIGTERMDuringMemoryAlarm: a service whose publisher the broker
// blocks (a memory alarm on the test's own node, failing messages whose
// retry copies wait) exits after SIGTERM within its shutdown timeout and
// the bounded close of its connections, and loses nothing: once the alarm
// ends, every failing message is in the queue or the dead-letter queue.
func TestSIGTERMDuringMemoryAlarm(t *testing.T) {
	bin := buildService(t)
	const total, failing = 100, 10
	q := "rococo-test.alarm-term"
	n, restore := alarmWithEmails(t, q, total, failing)

	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	s := startService(t, bin, svcEnv{queue: q, outbox: outbox, threads: 4, delay: "2ms", maxRetries: 3,
		retryBackoff: "200ms", failDomain: "fail.example", healthPort: freePort(t), port: n.port, shutdownTimeout: "2s"})
	waitOutbox(t, outbox, total-failing, 30*time.Second, s)
	start := time.Now()
	s.Signal(syscall.SIGTERM)
	code := s.Wait(20 * time.Second) // 2 s of drain, at most 5 s per connection close, and margin
	t.Logf("exit status %d %v after SIGTERM during the alarm", code, time.Since(start).Round(time.Millisecond))
	if code != 0 {
		t.Errorf("exit status after SIGTERM during the alarm = %d, want 0", code)
	}

	restore()
	a := n.admin()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left, dead := a.count(q), a.count(rococo.DeadLetterQueue(q))
		if left+dead >= failing {
			t.Logf("after the alarm: %d failing messages back in %s, %d in its dead-letter queue", left, q, dead)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the alarm: %d in %s and %d dead-lettered, want the %d failing messages kept", left, q, dead, failing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
