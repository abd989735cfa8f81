package rabbitmq

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

// envChaosBinary names a prebuilt internal/chaossvc binary; unset, the
// test builds it with go build.
const envChaosBinary = "CHAOS_SERVICE_BIN"

// TestChaos runs 2,000 unique messages through the chaos service
// (processor 1-20 ms, concurrency 8) on the test's own broker node, with
// five SIGKILLs of the service and two broker restarts mid-stream: every id
// is processed (lost = 0); duplicates are counted and reported.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	n := startNode(t)
	bin := os.Getenv(envChaosBinary)
	if bin == "" {
		bin = rococotest.BuildService(t, "./rococo/rabbitmq/internal/chaossvc")
	}
	tr, err := New(n.config(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	const total = 2000
	q := "rococo-test.chaos"
	msgs := make([]*rococo.Message, total)
	for i := range msgs {
		body, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("c%d", i)})
		msgs[i] = &rococo.Message{Body: body}
	}
	if err := tr.Publish(ctxTimeout(t, 60*time.Second), q, msgs...); err != nil {
		t.Fatal(err)
	}
	_ = tr.Close()

	dir := t.TempDir()
	outbox := filepath.Join(dir, "outbox.txt")
	consumeFile := filepath.Join(dir, "consume.env")
	if err := os.WriteFile(consumeFile, []byte("EXIT_WHEN_FINISHED=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(final bool) []string {
		e := []string{
			"PATH=" + os.Getenv("PATH"),
			"EXECUTION_TYPE=MESSAGING",
			"MESSAGING_TYPE=RabbitMqConnection",
			"PROCESSOR_TYPE=ChaosProcessor",
			"ChaosProcessor_QUEUE_NAME=" + q,
			"RABBITMQ_HOST=127.0.0.1",
			"RABBITMQ_PORT=" + strconv.Itoa(n.port),
			"RABBITMQ_NUM_THREADS=8",
			"HEALTH_PORT=" + strconv.Itoa(freePort(t)),
			"CHAOS_OUTBOX_FILE=" + outbox,
			"APP_ENV=production",
			"LOG_LEVEL=WARNING",
		}
		if final {
			e = append(e, "CONSUME_CONFIG_FILE_PATH="+consumeFile)
		}
		return e
	}
	start := time.Now()
	// Each step waits for that many distinct ids, then kills the service
	// or restarts the broker under it.
	steps := []struct {
		at      int
		restart bool
	}{{150, false}, {400, true}, {600, false}, {850, false}, {1100, true}, {1300, false}, {1550, false}}
	var s *rococotest.Process
	for _, st := range steps {
		if s == nil {
			s = rococotest.StartProcess(t, bin, dir, env(false))
		}
		waitIDs(t, outbox, st.at, 60*time.Second, s)
		if st.restart {
			n.restart()
			continue
		}
		s.Signal(syscall.SIGKILL)
		s.Wait(10 * time.Second)
		s = nil
	}
	if s != nil {
		s.Signal(syscall.SIGTERM)
		if code := s.Wait(30 * time.Second); code != 0 {
			t.Errorf("exit status after SIGTERM = %d, want 0", code)
		}
	}
	s = rococotest.StartProcess(t, bin, dir, env(true))
	if code := s.Wait(90 * time.Second); code != 0 {
		t.Fatalf("final run (EXIT_WHEN_FINISHED) exit status %d, want 0", code)
	}
	seen := readIDs(t, outbox)
	lost, dups := 0, 0
	for i := range total {
		c := seen[fmt.Sprintf("c%d", i)]
		if c == 0 {
			lost++
		}
		dups += max(c-1, 0)
	}
	t.Logf("chaos: %d messages, 5 SIGKILLs, 2 broker restarts, %v: lost %d, processed more than once %d (duplicate runs)", total, time.Since(start).Round(time.Second), lost, dups)
	if lost > 0 {
		t.Errorf("%d of %d messages never processed (lost)", lost, total)
	}
	a := n.admin()
	for _, name := range []string{q, rococo.DeadLetterQueue(q)} {
		if c := a.count(name); c != 0 {
			t.Errorf("%s holds %d messages at the end, want 0", name, c)
		}
	}
}

// readIDs counts the lines per id in the outbox (a line cut short by a
// kill counts as an id of its own, which matches no message).
func readIDs(t *testing.T, path string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return seen
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		seen[sc.Text()]++
	}
	return seen
}

// waitIDs waits until the outbox holds n distinct ids.
func waitIDs(t *testing.T, path string, n int, d time.Duration, s *rococotest.Process) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if got := len(readIDs(t, path)); got >= n {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("%d distinct ids processed after %v, want %d\n%s", got, d, n, s.Output())
		}
		select {
		case <-s.Done():
			t.Fatalf("service exited (%v) before %d ids were processed\n%s", s.Err(), n, s.Output())
		default:
		}
		time.Sleep(20 * time.Millisecond)
	}
}
