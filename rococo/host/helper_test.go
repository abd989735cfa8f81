package host

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

// The test binary doubles as a service: with HOST_TEST_SERVICE=1 its
// TestMain runs host.Main with the test processors below, so the tests can
// start it as a real process and send it real signals.
const serviceEnv = "HOST_TEST_SERVICE"

func TestMain(m *testing.M) {
	if os.Getenv(serviceEnv) == "1" {
		Main(testInfo(), &SlowCron{}, &CountingProcessor{})
		return
	}
	os.Exit(m.Run())
}

// testInfo stamps a commit and links an in-memory transport for both
// messaging types.
func testInfo() Info {
	mem := func(cfg *config.Config) (rococo.TransportConfig, error) {
		n, err := cfg.Env().IntRange("RABBITMQ_NUM_THREADS", 1, 1, 1024, "1-1024")
		if err != nil {
			return nil, err
		}
		return rococotest.NewTransport().TransportConfig(n), nil
	}
	return Info{Name: "hosttest", Version: "1.2.3", Commit: "abc1234", Transports: map[string]TransportFactory{
		config.RabbitMQ: mem,
	}}
}

// SlowCron is a cron processor whose runs last SLOW_RUN_FOR (default 0),
// or until their ctx is cancelled; it logs "run started", then "run
// finished" or "run cancelled".
type SlowCron struct {
	log *slog.Logger
	d   time.Duration
}

func (p *SlowCron) Init(_ context.Context, rt rococo.Runtime) error {
	p.log = rt.Logger
	d, err := config.EnvFunc(os.LookupEnv).Duration("SLOW_RUN_FOR", 0)
	if err != nil {
		return fmt.Errorf("read settings: %w", err)
	}
	p.d = d
	if os.Getenv("SLOW_FAIL_INIT") != "" {
		return fmt.Errorf("init failed on purpose")
	}
	return nil
}

func (p *SlowCron) Process(ctx context.Context) error {
	p.log.Info("run started")
	select {
	case <-time.After(p.d):
		p.log.Info("run finished")
		return nil
	case <-ctx.Done():
		p.log.Info("run cancelled")
		return ctx.Err()
	}
}

// CountingProcessor is a message processor that publishes COUNT_PUBLISH
// messages to its own queue at Init (through Runtime.Publisher) and counts
// what it processes.
type CountingProcessor struct {
	log    *slog.Logger
	mu     sync.Mutex
	n      int
	closed bool
}

func (p *CountingProcessor) Init(ctx context.Context, rt rococo.Runtime) error {
	p.log = rt.Logger
	if rt.Publisher == nil {
		return fmt.Errorf("no publisher")
	}
	n := 0
	fmt.Sscan(os.Getenv("COUNT_PUBLISH"), &n)
	for i := range n {
		if err := rt.Publisher.Publish(ctx, os.Getenv("QUEUE_NAME_PREFIX")+os.Getenv("CountingProcessor_QUEUE_NAME"), &rococo.Message{Body: []byte(fmt.Sprintf(`{"n":%d}`, i))}); err != nil {
			return err
		}
	}
	return nil
}

func (p *CountingProcessor) Process(_ context.Context, msg *rococo.Message) error {
	var v struct{ N int }
	if err := msg.Decode(&v); err != nil {
		return err
	}
	p.mu.Lock()
	p.n++
	p.mu.Unlock()
	return nil
}

func (p *CountingProcessor) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.log.Info("processor closed", "processed", p.n)
	return nil
}

// proc is a started service process whose stderr is scanned line by line.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdout strings.Builder
	mu     sync.Mutex
	lines  []string
	added  chan struct{} // closed and replaced on each new line
	exited chan struct{}
	err    error // Wait's error, after exited
}

// startProc starts bin with env (plus PATH) in dir.
func startProc(t testing.TB, bin, dir string, env ...string) *proc {
	t.Helper()
	p := &proc{t: t, added: make(chan struct{}), exited: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Dir = dir
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	p.cmd.Stdout = &lockedWriter{w: &p.stdout, mu: &p.mu}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.added)
			p.added = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	go func() {
		<-scanned
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", p.Stdout(), strings.Join(p.Lines(), "\n"))
		}
	})
	return p
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *proc) Stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

// waitStdout waits until stdout is want (it is copied from a pipe by its own
// goroutine, so it may lag behind stderr) and reports a difference.
func (p *proc) waitStdout(want string) {
	p.t.Helper()
	deadline := time.Now().Add(wait)
	for p.Stdout() != want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := p.Stdout(); got != want {
		p.t.Errorf("stdout = %q, want %q", got, want)
	}
}

func (p *proc) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// waitLine waits until a stderr line matches re and returns its submatches.
func (p *proc) waitLine(re string) []string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(wait)
	seen := 0
	for {
		p.mu.Lock()
		lines, added := p.lines, p.added
		p.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if m := rx.FindStringSubmatch(lines[seen]); m != nil {
				return m
			}
		}
		select {
		case <-added:
		case <-p.exited:
			p.mu.Lock()
			n := len(p.lines)
			p.mu.Unlock()
			if n == seen {
				p.t.Fatalf("process exited (%v) before logging a line matching %q", p.err, re)
			}
		case <-deadline:
			p.t.Fatalf("no stderr line matching %q after %v", re, wait)
		}
	}
}

// wait for the exit status.
func (p *proc) exitCode() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(wait):
		p.t.Fatalf("process did not exit within %v", wait)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *proc) signal(s os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatal(err)
	}
}

// healthAddr waits for the "health server listening" log and returns the
// address.
func (p *proc) healthAddr() string {
	p.t.Helper()
	return p.waitLine(`health server listening.*addr"?[=:]"?([0-9.:]+)`)[1]
}

const wait = 10 * time.Second

var client = &http.Client{Timeout: 2 * time.Second}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}
