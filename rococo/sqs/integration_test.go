package sqs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/rococotest"
	"github.com/rococo-go/rococo/rococo/transporttest"
)

// The tests in this file run the example service services/report_sqs (built
// with go build) as a real process against the SQS-compatible server, and
// count the summaries it wrote to its output file.

// buildService builds services/report_sqs, once the SQS server answers.
func buildService(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("process-level test skipped in -short mode")
	}
	testEndpoint(t)
	return rococotest.BuildService(t, "./services/report_sqs")
}

// svcEnv is the environment of one service run.
type svcEnv struct {
	queue, output      string
	threads            int
	maxRetries         int
	retryBackoff       string
	renderDelay        string
	renderDelayMax     string
	failPrefix         string
	resultsQueue       string
	exitWhenFinished   bool
	visibilityTimeout  int // seconds, 0 = the queue's
	shutdownTimeout    string
	listenIntervalSecs int
}

func (e svcEnv) environ(t *testing.T, dir string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir, // no shared AWS config from the machine
		"EXECUTION_TYPE=MESSAGING",
		"MESSAGING_TYPE=SqsConnection",
		"PROCESSOR_TYPE=ReportServiceProcessor",
		"ReportServiceProcessor_QUEUE_NAME=" + e.queue,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test-secret-never-logged",
		"AWS_ENDPOINT_URL_SQS=" + testEndpoint(t),
		"AWS_EC2_METADATA_DISABLED=true",
		"SQS_NUM_THREADS=" + strconv.Itoa(max(e.threads, 1)),
		"HEALTH_PORT=0",
		"APP_ENV=production",
		"REPORT_OUTPUT_FILE=" + e.output,
	}
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	add("REPORT_RENDER_DELAY", e.renderDelay)
	add("REPORT_RENDER_DELAY_MAX", e.renderDelayMax)
	add("REPORT_FAIL_PREFIX", e.failPrefix)
	add("REPORT_RESULTS_QUEUE", e.resultsQueue)
	add("RETRY_BACKOFF", e.retryBackoff)
	add("SHUTDOWN_TIMEOUT", e.shutdownTimeout)
	if e.maxRetries > 0 {
		add("MAX_RETRIES", strconv.Itoa(e.maxRetries))
	}
	consume := fmt.Sprintf("LISTEN_INTERVAL=%d\n", max(e.listenIntervalSecs, 1))
	if e.exitWhenFinished {
		consume += "EXIT_WHEN_FINISHED=1\n"
	}
	if e.visibilityTimeout > 0 {
		consume += fmt.Sprintf("VISIBILITY_TIMEOUT=%d\n", e.visibilityTimeout)
	}
	path := filepath.Join(dir, "consume.env")
	if err := os.WriteFile(path, []byte(consume), 0o644); err != nil {
		t.Fatal(err)
	}
	return append(env, "CONSUME_CONFIG_FILE_PATH="+path)
}

// startService starts the service binary with env, in a temporary
// directory of its own.
func startService(t *testing.T, bin string, env svcEnv) *rococotest.Process {
	t.Helper()
	dir := t.TempDir()
	p := rococotest.StartProcess(t, bin, dir, env.environ(t, dir))
	t.Cleanup(func() {
		if strings.Contains(p.Output(), "test-secret-never-logged") {
			t.Error("the service logged AWS_SECRET_ACCESS_KEY")
		}
	})
	return p
}

// summary is the part of a report summary line the tests read.
type summary struct {
	ReportID string `json:"report_id"`
	Attempt  int    `json:"attempt"`
	Count    int    `json:"count"`
}

// readOutput returns the summaries in the output file per report id. A torn
// last line (the process was killed while writing) is ignored.
func readOutput(t *testing.T, path string) map[string][]summary {
	t.Helper()
	got := map[string][]summary{}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return got
	}
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var s summary
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			if !bytes.HasSuffix(data, []byte("\n")) && bytes.HasSuffix(data, sc.Bytes()) {
				continue
			}
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		got[s.ReportID] = append(got[s.ReportID], s)
	}
	return got
}

// waitOutput waits up to d until the output holds at least n distinct
// reports.
func waitOutput(t *testing.T, path string, n int, d time.Duration, s *rococotest.Process) map[string][]summary {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := readOutput(t, path)
		if len(got) >= n {
			return got
		}
		if s != nil {
			select {
			case <-s.Done():
				t.Fatalf("service exited (%v) with %d of %d reports written", s.Err(), len(got), n)
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("output has %d distinct reports after %v, want %d", len(got), d, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publishReports publishes report requests with ids prefix0..prefix(n-1).
func publishReports(t *testing.T, tr *Transport, q, prefix string, n int) {
	t.Helper()
	msgs := make([]*rococo.Message, n)
	for i := range msgs {
		body, _ := json.Marshal(map[string]any{
			"report_id": fmt.Sprintf("%s%d", prefix, i),
			"title":     "load",
			"rows":      []map[string]any{{"label": "a", "value": i}, {"label": "b", "value": 1}},
		})
		msgs[i] = &rococo.Message{Body: body}
	}
	if err := tr.Publish(testCtx(t), q, msgs...); err != nil {
		t.Fatalf("Publish() = %v", err)
	}
}

// checkAll fails unless every id prefix0..prefix(n-1) was summarised at
// least once, and returns how many were summarised more than once.
func checkAll(t *testing.T, got map[string][]summary, prefix string, n int) int {
	t.Helper()
	missing, dup := 0, 0
	for i := range n {
		switch c := len(got[fmt.Sprintf("%s%d", prefix, i)]); {
		case c == 0:
			missing++
		case c > 1:
			dup++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d reports lost (never summarised)", missing, n)
	}
	return dup
}

// TestServiceThousandMessages: 1,000 messages through the service with
// SQS_NUM_THREADS=8, each summarised once, then the queue is empty and the
// service exits 0 by itself (EXIT_WHEN_FINISHED).
func TestServiceThousandMessages(t *testing.T) {
	bin := buildService(t)
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	const n = 1000
	publishReports(t, tr, q, "r", n)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	start := time.Now()
	s := startService(t, bin, svcEnv{queue: q, output: out, threads: 8, exitWhenFinished: true})
	if code := s.Wait(2 * time.Minute); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	got := readOutput(t, out)
	if dup := checkAll(t, got, "r", n); dup > 0 {
		t.Errorf("%d reports summarised more than once without any failure", dup)
	}
	if len(got) != n {
		t.Errorf("%d distinct reports, want %d", len(got), n)
	}
	requireEmpty(t, tr, q)
	t.Logf("%d messages in %v with concurrency 8", n, time.Since(start).Round(time.Millisecond))
}

// TestServiceSIGKILLRestart: the service is killed with SIGKILL twice
// mid-stream and restarted; every message is summarised at least once
// (counted), and the queue ends empty.
func TestServiceSIGKILLRestart(t *testing.T) {
	bin := buildService(t)
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	const n = 600
	publishReports(t, tr, q, "k", n)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	env := svcEnv{queue: q, output: out, threads: 8, renderDelay: "5ms", visibilityTimeout: 2}
	for _, killAt := range []int{100, 300} {
		s := startService(t, bin, env)
		waitOutput(t, out, killAt, time.Minute, s)
		s.Signal(syscall.SIGKILL)
		s.Wait(10 * time.Second)
	}
	env.exitWhenFinished = true
	s := startService(t, bin, env)
	if code := s.Wait(2 * time.Minute); code != 0 {
		t.Fatalf("final run exit status %d, want 0", code)
	}
	got := readOutput(t, out)
	dup := checkAll(t, got, "k", n)
	redelivered := 0
	for _, ss := range got {
		for _, s := range ss {
			if s.Attempt > 1 {
				redelivered++
			}
		}
	}
	requireEmpty(t, tr, q)
	t.Logf("%d distinct of %d after two SIGKILLs; %d summarised more than once, %d summaries from a redelivery (held by a killed process)", len(got), n, dup, redelivered)
}

// TestServicePoisonMessage: a message that always fails ends in the
// dead-letter queue after MAX_RETRIES attempts with its error, while the
// other messages are all processed meanwhile.
func TestServicePoisonMessage(t *testing.T) {
	bin := buildService(t)
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	publishReports(t, tr, q, "poison-", 1)
	const n = 50
	publishReports(t, tr, q, "good-", n)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	s := startService(t, bin, svcEnv{queue: q, output: out, threads: 4, maxRetries: 3, retryBackoff: "1s", failPrefix: "poison-", exitWhenFinished: true})

	// The good messages all pass while the poison one is still being
	// retried (its three attempts take at least 1 s + 2 s of backoff).
	waitOutput(t, out, n, time.Minute, s)
	dlqURL, err := tr.queueURL(testCtx(t), rococo.DeadLetterQueue(q))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := queueCounts(t, tr, rococo.DeadLetterQueue(q)); v != "0" {
		t.Errorf("poison message already dead-lettered when the %d good ones were done; want them to flow meanwhile", n)
	}
	if code := s.Wait(time.Minute); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	res, err := tr.client.ReceiveMessage(testCtx(t), &awssqs.ReceiveMessageInput{
		QueueUrl: aws.String(dlqURL), WaitTimeSeconds: 2, MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
	})
	if err != nil || len(res.Messages) != 1 {
		t.Fatalf("dead-letter queue: %v, %d messages, want 1", err, len(res.Messages))
	}
	m := res.Messages[0]
	if !strings.Contains(aws.ToString(m.Body), `"report_id":"poison-0"`) {
		t.Errorf("dead letter body %s", aws.ToString(m.Body))
	}
	attr := func(k string) string { return aws.ToString(m.MessageAttributes[k].StringValue) }
	if got := attr(rococo.HeaderAttempt); got != "3" {
		t.Errorf("%s = %q, want 3 (MAX_RETRIES)", rococo.HeaderAttempt, got)
	}
	if got := attr(rococo.HeaderError); !strings.Contains(got, "data source unavailable") {
		t.Errorf("%s = %q, want the processor's error", rococo.HeaderError, got)
	}
	if got := attr(rococo.HeaderOriginalQueue); got != q {
		t.Errorf("%s = %q, want %q", rococo.HeaderOriginalQueue, got, q)
	}
	got := readOutput(t, out)
	checkAll(t, got, "good-", n)
	if len(got["poison-0"]) != 0 {
		t.Error("poison message was summarised")
	}
	requireEmpty(t, tr, q)
}

// TestServiceSlowProcessorNotRedelivered: a report that takes three times
// the visibility timeout is summarised once, although a second service
// instance polls the same queue the whole time: the heartbeat keeps it
// invisible.
func TestServiceSlowProcessorNotRedelivered(t *testing.T) {
	bin := buildService(t)
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	publishReports(t, tr, q, "slow-", 1)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	env := svcEnv{queue: q, output: out, threads: 1, renderDelay: "6s", visibilityTimeout: 2}
	first := startService(t, bin, env)
	// Start the watcher once the first instance holds the message.
	deadline := time.Now().Add(testTimeout)
	for {
		if _, nv := queueCounts(t, tr, q); nv == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first instance did not receive the message")
		}
		time.Sleep(50 * time.Millisecond)
	}
	second := startService(t, bin, env)
	got := waitOutput(t, out, 1, 30*time.Second, nil)
	// Give the second instance time to pick up a redelivery, had there been one.
	time.Sleep(3 * time.Second)
	got = readOutput(t, out)
	if s := got["slow-0"]; len(s) != 1 || s[0].Attempt != 1 {
		t.Errorf("slow report summarised %d times (%+v), want once at attempt 1", len(s), s)
	}
	requireEmpty(t, tr, q)
	first.Signal(syscall.SIGTERM)
	second.Signal(syscall.SIGTERM)
	for _, s := range []*rococotest.Process{first, second} {
		if code := s.Wait(20 * time.Second); code != 0 {
			t.Errorf("exit status %d after SIGTERM, want 0", code)
		}
	}
}

// TestServiceSIGTERMDrain: SIGTERM while every thread is busy: the work in
// flight finishes and is deleted, then the service exits 0.
func TestServiceSIGTERMDrain(t *testing.T) {
	bin := buildService(t)
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	const threads = 4
	publishReports(t, tr, q, "drain-", threads)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	s := startService(t, bin, svcEnv{queue: q, output: out, threads: threads, renderDelay: "2s", shutdownTimeout: "20s"})
	deadline := time.Now().Add(testTimeout)
	for {
		if _, nv := queueCounts(t, tr, q); nv == strconv.Itoa(threads) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service did not take all %d messages", threads)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := readOutput(t, out); len(got) != 0 {
		t.Fatalf("%d reports already done before SIGTERM; want all in flight", len(got))
	}
	s.Signal(syscall.SIGTERM)
	if code := s.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0", code)
	}
	got := readOutput(t, out)
	checkAll(t, got, "drain-", threads)
	requireEmpty(t, tr, q)
}
