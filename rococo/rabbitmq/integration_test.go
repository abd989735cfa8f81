package rabbitmq

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

// The tests in this file run the example service services/email_rabbitmq
// (built with go build) as a real process against the real broker, and
// count what it sent in its outbox file.

// envServiceBinary names a prebuilt services/email_rabbitmq binary for the
// process-level tests (a build system can pass its own); unset, the tests
// build it with go build.
const envServiceBinary = "EMAIL_RABBITMQ_BIN"

// buildService returns the example service binary: $EMAIL_RABBITMQ_BIN, or
// one built with go build.
func buildService(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("process-level test skipped in -short mode")
	}
	rococotestBroker(t)
	if bin := os.Getenv(envServiceBinary); bin != "" {
		return bin
	}
	return rococotest.BuildService(t, "./services/email_rabbitmq")
}

// svcEnv is the environment of one service run.
type svcEnv struct {
	queue, outbox       string
	threads, maxRetries int
	delay, retryBackoff string
	failDomain          string
	exitWhenFinished    bool
	healthPort          int
	shutdownTimeout     string
	port                int // the broker's AMQP port; 0 means 5672
}

func (e svcEnv) environ(dir string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"EXECUTION_TYPE=MESSAGING",
		"MESSAGING_TYPE=RabbitMqConnection",
		"PROCESSOR_TYPE=EmailServiceProcessor",
		"EmailServiceProcessor_QUEUE_NAME=" + e.queue,
		"RABBITMQ_HOST=127.0.0.1",
		"RABBITMQ_PORT=" + strconv.Itoa(cmp.Or(e.port, 5672)),
		"RABBITMQ_USER=guest",
		"RABBITMQ_PASSWORD=guest",
		"RABBITMQ_NUM_THREADS=" + strconv.Itoa(max(e.threads, 1)),
		"HEALTH_PORT=" + strconv.Itoa(e.healthPort),
		"EMAIL_OUTBOX_FILE=" + e.outbox,
		"APP_ENV=production",
	}
	if e.delay != "" {
		env = append(env, "EMAIL_SEND_DELAY="+e.delay)
	}
	if e.failDomain != "" {
		env = append(env, "EMAIL_FAIL_DOMAIN="+e.failDomain)
	}
	if e.maxRetries > 0 {
		env = append(env, "MAX_RETRIES="+strconv.Itoa(e.maxRetries))
	}
	if e.retryBackoff != "" {
		env = append(env, "RETRY_BACKOFF="+e.retryBackoff)
	}
	if e.shutdownTimeout != "" {
		env = append(env, "SHUTDOWN_TIMEOUT="+e.shutdownTimeout)
	}
	if e.exitWhenFinished {
		path := filepath.Join(dir, "consume.env")
		if err := os.WriteFile(path, []byte("EXIT_WHEN_FINISHED=1\n"), 0o644); err == nil {
			env = append(env, "CONSUME_CONFIG_FILE_PATH="+path)
		}
	}
	return env
}

// startService starts the service binary with env, in a temporary
// directory of its own.
func startService(t *testing.T, bin string, env svcEnv) *rococotest.Process {
	t.Helper()
	dir := t.TempDir()
	p := rococotest.StartProcess(t, bin, dir, env.environ(dir))
	return p
}

// readOutbox counts the lines per email id in the outbox file. A last line
// without its newline is still being written and is left for the next read.
func readOutbox(t *testing.T, path string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return counts
	}
	if err != nil {
		t.Fatal(err)
	}
	for line := range bytes.Lines(data) {
		if !bytes.HasSuffix(line, []byte("\n")) {
			break
		}
		var e struct{ ID string }
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("outbox line %q: %v", line, err)
		}
		counts[e.ID]++
	}
	return counts
}

// countRedelivered counts the outbox lines of messages marked redelivered.
func countRedelivered(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range bytes.Lines(data) {
		var e struct{ Redelivered bool }
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("outbox line %q: %v", line, err)
		}
		if e.Redelivered {
			n++
		}
	}
	return n
}

// waitOutbox waits up to d until the outbox holds at least n distinct ids.
func waitOutbox(t *testing.T, path string, n int, d time.Duration, s *rococotest.Process) map[string]int {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := readOutbox(t, path)
		if len(got) >= n {
			return got
		}
		if s != nil {
			select {
			case <-s.Done():
				t.Fatalf("service exited (%v) with %d of %d emails sent", s.Err(), len(got), n)
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox has %d distinct emails after %v, want %d", len(got), d, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publishEmails publishes emails with ids prefix0..prefix(n-1).
func publishEmails(t *testing.T, tr *Transport, q, prefix string, n int) {
	t.Helper()
	msgs := make([]*rococo.Message, n)
	for i := range msgs {
		body, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("%s%d", prefix, i), "to": fmt.Sprintf("user%d@example.com", i), "subject": "hello"})
		msgs[i] = &rococo.Message{Body: body}
	}
	if err := tr.Publish(ctxTimeout(t, 60*time.Second), q, msgs...); err != nil {
		t.Fatalf("Publish() = %v", err)
	}
}

// checkAll fails unless every id prefix0..prefix(n-1) was sent at least
// once (exactly once when once is set).
func checkAll(t *testing.T, got map[string]int, prefix string, n int, once bool) {
	t.Helper()
	missing, dup := 0, 0
	for i := range n {
		c := got[fmt.Sprintf("%s%d", prefix, i)]
		if c == 0 {
			missing++
		}
		if c > 1 {
			dup++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d emails never sent (lost)", missing, n)
	}
	if once && dup > 0 {
		t.Errorf("%d emails sent more than once, want exactly once", dup)
	}
	t.Logf("%d emails: %d missing, %d sent more than once", n, missing, dup)
}

func TestServiceProcessesThousandOnce(t *testing.T) {
	bin := buildService(t)
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	publishEmails(t, tr, q, "m", 1000)

	s := startService(t, bin, svcEnv{queue: q, outbox: outbox, threads: 8, exitWhenFinished: true})
	if code := s.Wait(2 * time.Minute); code != 0 {
		t.Fatalf("exit code %d, want 0 (EXIT_WHEN_FINISHED)", code)
	}
	checkAll(t, readOutbox(t, outbox), "m", 1000, true)
	a.waitCount(q, 0)
	a.waitCount(rococo.DeadLetterQueue(q), 0)
}

func TestServiceSurvivesSIGKILL(t *testing.T) {
	bin := buildService(t)
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	const n = 1000
	publishEmails(t, tr, q, "k", n)

	env := svcEnv{queue: q, outbox: outbox, threads: 8, delay: "20ms"}
	for _, killAt := range []int{150, 400, 650} {
		s := startService(t, bin, env)
		waitOutbox(t, outbox, killAt, time.Minute, s)
		s.Signal(syscall.SIGKILL)
		s.Wait(10 * time.Second)
	}
	env.exitWhenFinished = true
	s := startService(t, bin, env)
	if code := s.Wait(2 * time.Minute); code != 0 {
		t.Fatalf("final run exit code %d, want 0", code)
	}
	checkAll(t, readOutbox(t, outbox), "k", n, false)
	// Each kill left messages in flight; the broker redelivered them marked.
	if r := countRedelivered(t, outbox); r == 0 {
		t.Error("no email was marked Redelivered after three kills with 8 in flight")
	}
	a.waitCount(q, 0)
	a.waitCount(rococo.DeadLetterQueue(q), 0)
}

func TestServicePoisonMessageDeadLettered(t *testing.T) {
	bin := buildService(t)
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	poison := &rococo.Message{Body: []byte(`{"id":"poison","to":"x@fail.example","subject":"never"}`)}
	if err := tr.Publish(ctxTimeout(t, 30*time.Second), q, poison); err != nil {
		t.Fatal(err)
	}
	publishEmails(t, tr, q, "g", 60)

	s := startService(t, bin, svcEnv{queue: q, outbox: outbox, threads: 2, delay: "5ms",
		failDomain: "fail.example", maxRetries: 4, retryBackoff: "500ms"})
	got := waitOutbox(t, outbox, 60, time.Minute, s)
	// The good messages all went through while the poison one was still
	// waiting in the delay queue between its attempts.
	if n := a.count(rococo.DeadLetterQueue(q)); n != 0 {
		t.Errorf("dlq already holds %d messages when the others finished; want the poison still retrying", n)
	}
	checkAll(t, got, "g", 60, true)

	a.waitCount(rococo.DeadLetterQueue(q), 1)
	d := a.get(rococo.DeadLetterQueue(q))
	if !strings.Contains(string(d.Body), `"poison"`) {
		t.Errorf("dlq message = %s", d.Body)
	}
	if e, _ := d.Headers[rococo.HeaderError].(string); !strings.Contains(e, "451 temporary failure") {
		t.Errorf("dlq %s = %q, want the processor's error", rococo.HeaderError, e)
	}
	if got := d.Headers[rococo.HeaderAttempt]; fmt.Sprint(got) != "4" {
		t.Errorf("dlq %s = %v, want 4 (MAX_RETRIES)", rococo.HeaderAttempt, got)
	}
	if got := d.Headers[rococo.HeaderOriginalQueue]; got != q {
		t.Errorf("dlq %s = %v, want %q", rococo.HeaderOriginalQueue, got, q)
	}
	if _, sent := readOutbox(t, outbox)["poison"]; sent {
		t.Error("poison email was sent")
	}
	s.Signal(syscall.SIGTERM)
	if code := s.Wait(30 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	a.waitCount(q, 0)
	for _, dq := range delayQueueNames(q) {
		a.waitCount(dq, 0)
	}
}

func TestServiceSIGTERMFinishesInFlight(t *testing.T) {
	bin := buildService(t)
	tr := newTransport(t, testConfig())
	a := newAdmin(t)
	q := queueName(t)
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	publishEmails(t, tr, q, "t", 4)

	s := startService(t, bin, svcEnv{queue: q, outbox: outbox, threads: 4, delay: "2s", shutdownTimeout: "20s"})
	// All four are delivered (none ready) and being sent for 2s.
	deadline := time.Now().Add(30 * time.Second)
	for a.count(q) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("messages not delivered within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if got := len(readOutbox(t, outbox)); got != 0 {
		t.Fatalf("%d emails already sent before SIGTERM, want them in flight", got)
	}
	s.Signal(syscall.SIGTERM)
	if code := s.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	checkAll(t, readOutbox(t, outbox), "t", 4, true)
	// Had any been left unacked, closing the connection would have put it
	// back in the queue.
	a.waitCount(q, 0)
}

// TestServiceSurvivesBrokerRestart stops and starts the broker's app in the
// middle of the stream. It disrupts every user of the local broker, so it
// runs only on CI (CI=true) or when ROCOCO_TEST_BROKER_RESTART=1, and it
// always starts the app again.
// TestServiceSurvivesBrokerRestart stops and starts the broker application
// of the test's own node (never the shared broker) mid-stream.
func TestServiceSurvivesBrokerRestart(t *testing.T) {
	bin := buildService(t)
	node := startNode(t)
	tr, err := New(node.config(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	q := "rococo-test.restart"
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	const n = 400
	publishEmails(t, tr, q, "r", n)

	health := freePort(t)
	s := startService(t, bin, svcEnv{queue: q, outbox: outbox, threads: 4, delay: "10ms", healthPort: health, port: node.port})
	waitOutbox(t, outbox, 80, time.Minute, s)

	node.ctl("stop_app")
	deadline := time.Now().Add(20 * time.Second)
	for readyz(health) == http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz still 200 with the broker stopped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	node.ctl("start_app")

	checkAll(t, waitOutbox(t, outbox, n, 2*time.Minute, s), "r", n, false)
	deadline = time.Now().Add(30 * time.Second)
	for readyz(health) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz not 200 after the broker came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Deliveries the outage cut off come back as copies at the tail (a
	// crash is counted in the copy): wait for those too before stopping.
	a := node.admin()
	a.waitCount(q, 0)
	s.Signal(syscall.SIGTERM)
	if code := s.Wait(30 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	if c := a.count(q); c != 0 {
		t.Errorf("queue holds %d messages after SIGTERM, want 0", c)
	}
	// One outage: a handful of state-change lines, not one per attempt.
	out := s.Output()
	if n := strings.Count(out, "rabbitmq connection failed"); n > 2 {
		t.Errorf("logged %d failed connection attempts, want at most 1 per connection (consume, publish) and outage", n)
	}
	if !strings.Contains(out, "rabbitmq reconnected") || !strings.Contains(out, "rabbitmq consuming again") {
		t.Errorf("log lacks the reconnect and resume lines")
	}
	if strings.Contains(out, "guest:guest") {
		t.Errorf("log shows the password")
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// readyz returns the status of GET /readyz, or 0 when nothing answers.
func readyz(port int) int {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
