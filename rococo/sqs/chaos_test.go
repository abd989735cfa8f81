package sqs

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/transporttest"
)

// TestChaosSIGKILL: 2,000 unique messages through the real service
// (services/report_sqs, SQS_NUM_THREADS=8, each report taking 1 to 20 ms),
// killed with SIGKILL five times mid-stream and restarted each time, then
// run to the end (EXIT_WHEN_FINISHED). Every id is processed (lost = 0);
// duplicates (messages a killed process had processed but not yet deleted)
// are counted and reported, and the queue and its dead-letter queue end
// empty.
func TestChaosSIGKILL(t *testing.T) {
	bin := buildService(t)
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	const n, kills = 2000, 5
	publishReports(t, tr, q, "c", n)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	// A short visibility timeout brings what a killed process held back
	// soon; the heartbeat keeps it for the living one.
	env := svcEnv{queue: q, output: out, threads: 8, renderDelay: "1ms", renderDelayMax: "20ms", visibilityTimeout: 2}
	start := time.Now()
	for k := range kills {
		s := startService(t, bin, env)
		// Kill at about every sixth of the stream, while processing.
		waitOutput(t, out, (k+1)*n/(kills+1), time.Minute, s)
		s.Signal(syscall.SIGKILL)
		s.Wait(10 * time.Second)
	}
	env.exitWhenFinished = true
	s := startService(t, bin, env)
	if code := s.Wait(2 * time.Minute); code != 0 {
		t.Fatalf("final run exit status %d, want 0", code)
	}
	got := readOutput(t, out)
	dup := checkAll(t, got, "c", n)
	extra := 0
	for _, ss := range got {
		extra += len(ss) - 1
	}
	requireEmpty(t, tr, q)
	requireEmpty(t, tr, q+".dlq")
	t.Logf("SQS chaos: %d unique messages, %d SIGKILLs, concurrency 8, processor 1-20 ms: %d processed, lost %d, %d ids processed more than once (%d extra runs), in %v",
		n, kills, len(got), n-len(got), dup, extra, time.Since(start).Round(time.Millisecond))
}
