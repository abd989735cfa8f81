package metrics_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rococo-go/rococo/rococo/metrics"
)

func TestMessageOutcomes(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := metrics.New(reg)
	m.Message("q", metrics.Processed, 2*time.Millisecond)
	m.Message("q", metrics.Processed, 3*time.Millisecond)
	m.Message("q", metrics.Retried, time.Millisecond)
	m.Message("q", metrics.DeadLettered, time.Millisecond)
	m.Queue("other").Message(metrics.Retried, time.Second)

	// A queue's series start at 0 when it is first used.
	want := `
# HELP rococo_messages_dead_lettered_total Messages moved to the dead-letter queue.
# TYPE rococo_messages_dead_lettered_total counter
rococo_messages_dead_lettered_total{queue="other"} 0
rococo_messages_dead_lettered_total{queue="q"} 1
# HELP rococo_messages_failed_total Message attempts that failed (retried or dead-lettered).
# TYPE rococo_messages_failed_total counter
rococo_messages_failed_total{queue="other"} 1
rococo_messages_failed_total{queue="q"} 2
# HELP rococo_messages_processed_total Messages processed successfully and acknowledged.
# TYPE rococo_messages_processed_total counter
rococo_messages_processed_total{queue="other"} 0
rococo_messages_processed_total{queue="q"} 2
# HELP rococo_messages_retried_total Failed messages sent back for a retry with backoff.
# TYPE rococo_messages_retried_total counter
rococo_messages_retried_total{queue="other"} 1
rococo_messages_retried_total{queue="q"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"rococo_messages_processed_total", "rococo_messages_failed_total",
		"rococo_messages_retried_total", "rococo_messages_dead_lettered_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(reg, "rococo_message_processing_seconds"); got != 2 {
		t.Errorf("processing histogram series = %d, want 2 (one per queue)", got)
	}
	assertRecent(t, reg)
}

func TestCron(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := metrics.New(reg)
	m.CronRun(time.Second, nil)
	m.CronRun(time.Second, errors.New("boom"))
	m.CronSkipped()
	want := `
# HELP rococo_cron_failures_total Cron runs that returned an error or panicked.
# TYPE rococo_cron_failures_total counter
rococo_cron_failures_total 1
# HELP rococo_cron_runs_total Cron runs started and finished, failed or not.
# TYPE rococo_cron_runs_total counter
rococo_cron_runs_total 2
# HELP rococo_cron_skipped_total Cron runs skipped because the previous run was still going.
# TYPE rococo_cron_skipped_total counter
rococo_cron_skipped_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"rococo_cron_runs_total", "rococo_cron_failures_total", "rococo_cron_skipped_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(reg, "rococo_cron_run_seconds"); got != 1 {
		t.Errorf("cron run histogram series = %d, want 1", got)
	}
	assertRecent(t, reg)
}

func assertRecent(t *testing.T, reg prometheus.Gatherer) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "rococo_last_success_timestamp_seconds" {
			got := mf.GetMetric()[0].GetGauge().GetValue()
			if d := time.Since(time.Unix(int64(got), 0)); d < -time.Second || d > time.Minute {
				t.Errorf("last success = %v, want about now", got)
			}
			return
		}
	}
	t.Error("rococo_last_success_timestamp_seconds not gathered")
}

func TestNilSafe(t *testing.T) {
	var m *metrics.Metrics
	m.Message("q", metrics.Processed, time.Second)
	m.Queue("q").Message(metrics.DeadLettered, time.Second)
	m.CronRun(time.Second, errors.New("x"))
	m.CronSkipped()
	if m.Queue("q") != nil {
		t.Error("nil Metrics Queue() != nil")
	}
}

func TestOwnRegistriesDoNotClash(t *testing.T) {
	// Two instances with their own registries must both work: no default
	// registry, no globals.
	for range 2 {
		reg := prometheus.NewRegistry()
		metrics.New(reg).Message("q", metrics.Processed, 0)
		if got := testutil.CollectAndCount(reg, "rococo_messages_processed_total"); got != 1 {
			t.Errorf("processed series = %d, want 1", got)
		}
	}
	metrics.New(nil).Message("q", metrics.Processed, 0) // unregistered, still usable
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[metrics.Outcome]string{metrics.Processed: "processed", metrics.Retried: "retried", metrics.DeadLettered: "dead_lettered", 9: "unknown"} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}

type fakeBlocked struct{ blocked bool }

func (f *fakeBlocked) Blocked() bool { return f.blocked }

func TestRegisterBrokerBlocked(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := &fakeBlocked{}
	if err := metrics.RegisterBrokerBlocked(reg, b); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		blocked bool
		want    float64
	}{{false, 0}, {true, 1}, {false, 0}} {
		b.blocked = tt.blocked
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if len(mfs) != 1 || mfs[0].GetName() != "rococo_broker_blocked" {
			t.Fatalf("gathered %v, want rococo_broker_blocked", mfs)
		}
		if got := mfs[0].GetMetric()[0].GetGauge().GetValue(); got != tt.want {
			t.Errorf("blocked=%v: gauge = %v, want %v", tt.blocked, got, tt.want)
		}
	}
	if err := metrics.RegisterBrokerBlocked(reg, b); err == nil {
		t.Error("second registration = nil, want an error")
	}
}
