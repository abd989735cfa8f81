package host

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/rococotest"
)

// countLines returns how many of p's stderr lines match re.
func (p *proc) countLines(re string) int {
	rx := regexp.MustCompile(re)
	n := 0
	for _, l := range p.Lines() {
		if rx.MatchString(l) {
			n++
		}
	}
	return n
}

const runFinished = `msg="cron run finished"`

// TestCronLeaderElection_two_processes runs two replicas of the real cron
// example against the real RabbitMQ, each a process of its own, scheduled
// every second: one leads and runs every scheduled run, the other runs
// none; the leader is killed with SIGKILL, and the survivor takes over
// within the retry interval (1 s here) plus a second, then runs the
// schedule alone.
func TestCronLeaderElection_two_processes(t *testing.T) {
	rococotest.RequireBroker(t, "127.0.0.1:5672")
	bin := buildCleanupCron(t)
	env := []string{
		"EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=CleanupProcessor", "CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=seconds",
		"MESSAGING_TYPE=RabbitMqConnection", "RABBITMQ_HOST=127.0.0.1",
		fmt.Sprintf("QUEUE_NAME_PREFIX=rococo_leader_test_%d.", time.Now().UnixNano()),
		"CRON_LEADER_RETRY=1s", "CLEANUP_DIR=" + t.TempDir(), "CLEANUP_MAX_AGE=24h", "HEALTH_ADDR=127.0.0.1:0",
	}
	a := startProc(t, bin, t.TempDir(), env...)
	a.waitLine(`msg="leading: this replica runs the work"`)
	b := startProc(t, bin, t.TempDir(), env...)
	b.waitLine(`msg="standing by: another replica leads"`)

	// Both alive: every scheduled run happens once, in the leader.
	start := a.countLines(runFinished)
	const window = 5 * time.Second
	time.Sleep(window)
	ran := a.countLines(runFinished) - start
	if ran < 4 || ran > 6 {
		t.Errorf("the leader ran %d times in %v of a 1 s schedule, want 4 to 6", ran, window)
	}
	if n := b.countLines(runFinished); n != 0 {
		t.Fatalf("the standby ran %d times while the leader lived, want 0", n)
	}
	if status, body := get(t, "http://"+b.healthAddr()+"/readyz"); status != 200 {
		t.Errorf("standby /readyz = %d %s, want 200 (a standby is ready)", status, body)
	}

	// The leader dies without a word: its socket closes, the broker
	// deletes the exclusive queue, the standby takes it.
	killed := time.Now()
	a.signal(syscall.SIGKILL)
	b.waitLine(`msg="leading: this replica runs the work"`)
	took := time.Since(killed)
	t.Logf("the survivor took over %v after the leader was killed", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("takeover took %v, want at most the retry interval (1 s) plus 1 s", took)
	}
	b.waitLine(runFinished)
	before := b.countLines(runFinished)
	time.Sleep(3 * time.Second)
	if n := b.countLines(runFinished) - before; n < 2 || n > 4 {
		t.Errorf("the new leader ran %d times in 3 s, want 2 to 4", n)
	}
	b.signal(syscall.SIGTERM)
	if code := b.exitCode(); code != 0 {
		t.Errorf("the new leader exited %d on SIGTERM, want 0", code)
	}
}

func TestCronLeaderElection_settings(t *testing.T) {
	bin := buildCleanupCron(t)
	base := []string{"EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=CleanupProcessor", "CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=hours",
		"CLEANUP_DIR=" + t.TempDir(), "HEALTH_PORT=0"}
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"required without a lock", []string{"CRON_LEADER_ELECTION=required"},
			`invalid CRON_LEADER_ELECTION="required": want auto or off: required needs a lock, and only MESSAGING_TYPE=RabbitMqConnection offers one (an exclusive queue on the broker); set it, or run one replica with CRON_LEADER_ELECTION=off`},
		{"bad mode", []string{"CRON_LEADER_ELECTION=maybe"}, `invalid CRON_LEADER_ELECTION="maybe": want auto, required or off`},
		{"bad retry", []string{"CRON_LEADER_RETRY=0s"}, `invalid CRON_LEADER_RETRY="0s"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := startProc(t, bin, t.TempDir(), append(base, tc.env...)...)
			if code := p.exitCode(); code != 2 {
				t.Errorf("exit status = %d, want 2", code)
			}
			if got := strings.Join(p.Lines(), "\n"); !strings.Contains(got, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", got, tc.want)
			}
		})
	}
	t.Run("auto without a lock warns", func(t *testing.T) {
		p := startProc(t, bin, t.TempDir(), base...)
		p.waitLine(`no leader election: every replica of this service runs every schedule, so run exactly one`)
		p.signal(os.Interrupt)
		if code := p.exitCode(); code != 0 {
			t.Errorf("exit status = %d, want 0", code)
		}
	})
}
