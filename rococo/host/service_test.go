package host

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/rococotest"
)

// buildCleanupCron builds the real cron example service with the go tool.
// Under Bazel there is no go tool in the sandbox; the service's image tests
// cover the built binary there.
func buildCleanupCron(tb testing.TB) string {
	tb.Helper()
	return rococotest.BuildService(tb, "./services/cleanup_cron")
}

func TestCleanupCronService(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a service binary")
	}
	bin := buildCleanupCron(t)

	t.Run("bad environment exits 2 with one line", func(t *testing.T) {
		p := startProc(t, bin, t.TempDir(), "EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=Cleanup", "CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=hours")
		if code := p.exitCode(); code != 2 {
			t.Errorf("exit status = %d, want 2", code)
		}
		want := `invalid PROCESSOR_TYPE="Cleanup": want a processor of this service: CleanupProcessor`
		if got := strings.Join(p.Lines(), "\n"); got != want {
			t.Errorf("stderr = %q, want %q", got, want)
		}
	})

	t.Run("cleans on schedule, serves health, drains on SIGTERM", func(t *testing.T) {
		data := t.TempDir()
		old := filepath.Join(data, "old.tmp")
		if err := os.WriteFile(old, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		past := time.Now().Add(-48 * time.Hour)
		if err := os.Chtimes(old, past, past); err != nil {
			t.Fatal(err)
		}
		p := startProc(t, bin, t.TempDir(), "EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=CleanupProcessor",
			"CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=days", "CRON_RUN_AT=03:00:00", "RUN_AT_STARTUP=true",
			"CLEANUP_DIR="+data, "CLEANUP_MAX_AGE=24h", "HEALTH_ADDR=127.0.0.1:0")
		addr := p.healthAddr()
		p.waitLine(`msg="cleanup done" removed=1`)
		p.waitLine(`msg="cron run finished"`) // logged after the run was counted
		if _, err := os.Stat(old); !os.IsNotExist(err) {
			t.Errorf("old file still there: %v", err)
		}
		p.waitStdout("Rococo Service Host Version: " + Version + "\ncleanup_cron running at version: dev\n")
		if code, _ := get(t, "http://"+addr+"/readyz"); code != 200 {
			t.Errorf("/readyz = %d, want 200", code)
		}
		if code, body := get(t, "http://"+addr+"/metrics"); code != 200 || !strings.Contains(body, "rococo_cron_runs_total 1") {
			t.Errorf("/metrics = %d, want rococo_cron_runs_total 1", code)
		}
		p.signal(syscall.SIGTERM)
		if code := p.exitCode(); code != 0 {
			t.Errorf("exit status = %d, want 0", code)
		}
	})
}

// BenchmarkIdleCronService measures the real cleanup_cron binary: the time
// from exec to the first 200 from /readyz (median and largest), and its resident
// memory (VmRSS) once idle between runs (rss-MB, the largest seen). Each
// iteration starts the service once. Run it with
//
//	go test -run '^$' -bench IdleCronService -benchtime 20x ./rococo/host/
func BenchmarkIdleCronService(b *testing.B) {
	bin := buildCleanupCron(b)
	data := b.TempDir()
	var ready []time.Duration
	var rssMax float64
	for b.Loop() {
		start := time.Now()
		p := startProc(b, bin, b.TempDir(), "EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=CleanupProcessor",
			"CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=hours", "RUN_AT_STARTUP=true", "CLEANUP_DIR="+data,
			"HEALTH_ADDR=127.0.0.1:0", "APP_ENV=production")
		addr := p.healthAddr()
		for {
			if code, _ := get(b, "http://"+addr+"/readyz"); code == 200 {
				break
			}
			if time.Since(start) > wait {
				b.Fatal("not ready")
			}
			time.Sleep(100 * time.Microsecond)
		}
		ready = append(ready, time.Since(start))
		p.waitLine(`cron run finished`)
		time.Sleep(200 * time.Millisecond) // idle
		rss := vmRSS(b, p.cmd.Process.Pid)
		rssMax = max(rssMax, rss)
		p.signal(syscall.SIGTERM)
		if code := p.exitCode(); code != 0 {
			b.Fatalf("exit status %d", code)
		}
	}
	slices.Sort(ready)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(ready[len(ready)/2]), "ms-to-ready-p50")
	b.ReportMetric(ms(ready[len(ready)-1]), "ms-to-ready-max")
	b.ReportMetric(rssMax, "rss-MB")
	b.ReportMetric(0, "ns/op") // an iteration is a whole start-stop cycle: meaningless
}

func vmRSS(tb testing.TB, pid int) float64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" {
			kb, err := strconv.Atoi(f[1])
			if err != nil {
				tb.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	tb.Fatal("no VmRSS in /proc/PID/status")
	return 0
}
