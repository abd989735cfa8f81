package host

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
)

// runIn runs the host in-process with env, in dir, and returns the exit
// status, stdout and stderr.
func runIn(t *testing.T, ctx context.Context, dir string, env []string, info Info, procs ...any) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	o := options{stdout: &stdout, stderr: &stderr, dir: dir}
	code := o.run(ctx, []string{"svc"}, env, info, procs...)
	return code, stdout.String(), stderr.String()
}

var cronEnv = []string{"EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=SlowCron", "CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=hours", "HEALTH_PORT=0"}

type notAProcessor struct{}

func TestRun_bad_environment_exits_2_with_one_line(t *testing.T) {
	procs := []any{&SlowCron{}, &CountingProcessor{}}
	tests := []struct {
		name  string
		env   []string
		info  Info
		procs []any
		want  string // the exact line on stderr
	}{
		{"bad value", append(cronEnv, "CRON_TIME_UNIT=fortnights"), testInfo(), procs,
			`invalid CRON_TIME_UNIT="fortnights": want one of seconds, minutes, hours, days, weeks (case-insensitive)`},
		{"unset MESSAGING_TYPE", []string{"PROCESSOR_TYPE=CountingProcessor"}, testInfo(), procs,
			`missing MESSAGING_TYPE: want RabbitMqConnection or SqsConnection (required when EXECUTION_TYPE is MESSAGING)`},
		{"unknown processor lists the names", []string{"EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=Nope", "CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=hours"}, testInfo(), procs,
			`invalid PROCESSOR_TYPE="Nope": want a processor of this service: CountingProcessor, SlowCron`},
		{"cron processor for messaging", []string{"MESSAGING_TYPE=RabbitMqConnection", "PROCESSOR_TYPE=SlowCron", "SlowCron_QUEUE_NAME=q"}, testInfo(), procs,
			`invalid PROCESSOR_TYPE="SlowCron": want a message processor (Process(ctx, *rococo.Message) error) for EXECUTION_TYPE=MESSAGING, SlowCron is a cron processor; message processors of this service: CountingProcessor, or set EXECUTION_TYPE=CRON`},
		{"message processor for cron", []string{"EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=CountingProcessor", "CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=hours"}, testInfo(), procs,
			`invalid PROCESSOR_TYPE="CountingProcessor": want a cron processor (Process(ctx) error) for EXECUTION_TYPE=CRON, CountingProcessor is a message processor; cron processors of this service: SlowCron, or set EXECUTION_TYPE=MESSAGING`},
		{"transport not linked", []string{"MESSAGING_TYPE=SqsConnection", "PROCESSOR_TYPE=CountingProcessor", "CountingProcessor_QUEUE_NAME=q"}, testInfo(), procs,
			`invalid MESSAGING_TYPE="SqsConnection": want a transport linked into this service: RabbitMqConnection`},
		{"no transport linked", []string{"MESSAGING_TYPE=SqsConnection", "PROCESSOR_TYPE=CountingProcessor", "CountingProcessor_QUEUE_NAME=q"}, Info{}, procs,
			`invalid MESSAGING_TYPE="SqsConnection": want a transport linked into this service: none`},
		{"not a processor", cronEnv, testInfo(), []any{&SlowCron{}, notAProcessor{}},
			`processor host.notAProcessor implements neither rococo.MessageProcessor nor rococo.CronProcessor`},
		{"value of a pointer-receiver processor", cronEnv, testInfo(), []any{SlowCron{}},
			`processor host.SlowCron has Process on its pointer: pass &SlowCron{}`},
		{"duplicate names", cronEnv, testInfo(), []any{&SlowCron{}, &SlowCron{}},
			`two processors are named SlowCron; PROCESSOR_TYPE needs distinct type names`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runIn(t, context.Background(), t.TempDir(), tc.env, tc.info, tc.procs...)
			if code != 2 {
				t.Errorf("exit status = %d, want 2", code)
			}
			if stderr != tc.want+"\n" {
				t.Errorf("stderr = %q\nwant     %q", stderr, tc.want+"\n")
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing (no banner before the environment is valid)", stdout)
			}
		})
	}
}

func TestRun_arguments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o := options{stdout: &stdout, stderr: &stderr, dir: t.TempDir()}
	if code := o.run(context.Background(), []string{"/bin/svc", "--version"}, nil, testInfo()); code != 0 {
		t.Errorf("--version: exit status %d, want 0", code)
	}
	if want := "Rococo Service Host Version: " + Version + "\nhosttest running at version: 1.2.3\nCommit: abc1234\n"; stdout.String() != want {
		t.Errorf("--version printed %q, want %q", stdout.String(), want)
	}
	stderr.Reset()
	if code := o.run(context.Background(), []string{"/bin/svc", "serve"}, nil, Info{}); code != 2 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "usage: svc") {
		t.Errorf("unknown argument: exit status %d, stderr %q, want 2 and one usage line", code, stderr.String())
	}
}

func TestRun_once(t *testing.T) {
	tests := []struct {
		name       string
		env        []string
		procs      []any
		wantCode   int
		wantStderr string
	}{
		{"cron run succeeds", cronEnv, []any{&SlowCron{}}, 0, "run finished"},
		{"cron run fails", []string{"EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=failingCron", "CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=hours", "HEALTH_PORT=0"}, []any{&failingCron{}}, 1, "failed once on purpose"},
		{"messaging processor", []string{"MESSAGING_TYPE=RabbitMqConnection", "PROCESSOR_TYPE=Publisher3", "Publisher3_QUEUE_NAME=q", "HEALTH_PORT=0"}, []any{&Publisher3{}}, 2, "--once runs a cron processor once"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			o := options{stdout: &stdout, stderr: &stderr, dir: t.TempDir()}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if code := o.run(ctx, []string{"/bin/svc", "--once"}, tc.env, testInfo(), tc.procs...); code != tc.wantCode {
				t.Errorf("--once: exit status %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("--once: stderr lacks %q:\n%s", tc.wantStderr, stderr.String())
			}
		})
	}
}

// failingCron is a cron processor whose every run fails.
type failingCron struct{}

func (failingCron) Process(context.Context) error { return fmt.Errorf("failed once on purpose") }

// Publisher3 publishes three messages to its queue at Init and records
// what it processes and whether it was closed.
type Publisher3 struct {
	mu        sync.Mutex
	processed []int
	closed    bool
}

func (p *Publisher3) Init(ctx context.Context, rt rococo.Runtime) error {
	if rt.Logger == nil || rt.Publisher == nil {
		return fmt.Errorf("runtime without logger or publisher: %+v", rt)
	}
	for i := range 3 {
		if err := rt.Publisher.Publish(ctx, "dev-numbers", &rococo.Message{Body: []byte(fmt.Sprintf(`{"n":%d}`, i))}); err != nil {
			return err
		}
	}
	return nil
}

func (p *Publisher3) Process(_ context.Context, msg *rococo.Message) error {
	var v struct{ N int }
	if err := msg.Decode(&v); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.processed = append(p.processed, v.N)
	return nil
}

func (p *Publisher3) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

func TestRun_messaging_until_the_queue_is_finished(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "consume.env"), []byte("EXIT_WHEN_FINISHED=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// .env provides part of the configuration, as in Python.
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("Publisher3_QUEUE_NAME=numbers\nQUEUE_NAME_PREFIX=dev-\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &Publisher3{}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	code, stdout, stderr := runIn(t, ctx, dir, []string{
		"MESSAGING_TYPE=RabbitMqConnection", "PROCESSOR_TYPE=Publisher3", "RABBITMQ_NUM_THREADS=2",
		"CONSUME_CONFIG_FILE_PATH=consume.env", "HEALTH_PORT=0", "LOGLEVEL=info",
	}, testInfo(), p, &SlowCron{})
	if code != 0 {
		t.Fatalf("exit status = %d, want 0; stderr:\n%s", code, stderr)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.processed) != 3 || !p.closed {
		t.Errorf("processed %v, closed %v; want 3 messages and Close called", p.processed, p.closed)
	}
	if !strings.HasPrefix(stdout, "Rococo Service Host Version: ") {
		t.Errorf("stdout = %q, want the banner", stdout)
	}
	if strings.Contains(stderr, "level=DEBUG") || !strings.Contains(stderr, "queue=dev-numbers") {
		t.Errorf("LOGLEVEL=info: stderr has DEBUG lines or lacks the queue:\n%s", stderr)
	}
}

func TestRun_init_failure_exits_1(t *testing.T) {
	t.Setenv("SLOW_FAIL_INIT", "1")
	code, _, stderr := runIn(t, context.Background(), t.TempDir(), cronEnv, testInfo(), &SlowCron{})
	if code != 1 || !strings.Contains(stderr, "init failed on purpose") {
		t.Errorf("exit status = %d, stderr %q; want 1 and the Init error", code, stderr)
	}
}

// TestRun_invalid_service_setting_exits_2: a processor's own setting that
// does not parse (a *config.Error from Init) stops the service like an
// invalid runtime variable: status 2 and one line naming it.
func TestRun_invalid_service_setting_exits_2(t *testing.T) {
	t.Setenv("SLOW_RUN_FOR", "abc")
	code, _, stderr := runIn(t, context.Background(), t.TempDir(), cronEnv, testInfo(), &SlowCron{})
	want := `invalid SLOW_RUN_FOR="abc": want a duration such as 30s, 1m30s or a number of seconds such as 30`
	if code != 2 || !strings.Contains(stderr, "\n"+want+"\n") {
		t.Errorf("exit status = %d, stderr %q; want 2 and the line %q", code, stderr, want)
	}
}

func TestRun_health_port_in_use_exits_1(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, stderr := runIn(t, context.Background(), t.TempDir(), append(cronEnv, "HEALTH_ADDR="+ln.Addr().String()), testInfo(), &SlowCron{})
	if code != 1 || !strings.Contains(stderr, "start health server") {
		t.Errorf("exit status = %d, stderr %q; want 1 and a health server error", code, stderr)
	}
}

// serviceProc starts this test binary as a service (see TestMain).
func serviceProc(t *testing.T, env ...string) *proc {
	t.Helper()
	return startProc(t, os.Args[0], t.TempDir(), append([]string{serviceEnv + "=1", "HEALTH_ADDR=127.0.0.1:0"}, env...)...)
}

var slowCronEnv = []string{"EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=SlowCron", "CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=hours", "RUN_AT_STARTUP=true"}

func TestProcess_banner_health_endpoints_and_sigterm(t *testing.T) {
	p := serviceProc(t, slowCronEnv...)
	addr := p.healthAddr()
	p.waitLine(`msg="run finished"`)
	p.waitLine(`msg="cron run finished"`) // logged after the run was counted
	p.waitStdout("Rococo Service Host Version: " + Version + "\nhosttest running at version: 1.2.3\nCommit: abc1234\n")
	if code, body := get(t, "http://"+addr+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, "http://"+addr+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d %q, want 200", code, body)
	}
	code, body := get(t, "http://"+addr+"/status")
	var st struct {
		Service, Version, Commit, State, Processor string
		ExecutionType                              string  `json:"execution_type"`
		Uptime                                     float64 `json:"uptime_seconds"`
	}
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil {
		t.Fatalf("/status = %d %q (%v)", code, body, err)
	}
	if st.Service != "hosttest" || st.Version != "1.2.3" || st.Commit != "abc1234" || st.State != "running" ||
		st.ExecutionType != "CRON" || st.Processor != "SlowCron" || st.Uptime <= 0 {
		t.Errorf("/status = %+v", st)
	}
	if code, body := get(t, "http://"+addr+"/metrics"); code != 200 || !strings.Contains(body, "rococo_cron_runs_total 1") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics = %d, want rococo_cron_runs_total 1 and Go metrics:\n%s", code, body)
	}
	p.signal(syscall.SIGTERM)
	if code := p.exitCode(); code != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0", code)
	}
}

func TestProcess_sigterm_lets_the_cron_run_finish(t *testing.T) {
	p := serviceProc(t, append(slowCronEnv, "SLOW_RUN_FOR=1500ms", "SHUTDOWN_TIMEOUT=30s")...)
	addr := p.healthAddr()
	p.waitLine(`msg="run started"`)
	p.signal(syscall.SIGTERM)
	p.waitLine(`msg="cron scheduler stopping: waiting for the run in progress"`)
	// Draining: still serving, but not ready.
	if code, body := get(t, "http://"+addr+"/readyz"); code != 503 {
		t.Errorf("/readyz while draining = %d %q, want 503", code, body)
	}
	p.waitLine(`msg="run finished"`)
	if code := p.exitCode(); code != 0 {
		t.Errorf("exit status = %d, want 0", code)
	}
	for _, l := range p.Lines() {
		if strings.Contains(l, "run cancelled") {
			t.Errorf("run was cancelled: %s", l)
		}
	}
}

func TestProcess_shutdown_timeout_cancels_the_cron_run(t *testing.T) {
	p := serviceProc(t, append(slowCronEnv, "SLOW_RUN_FOR=1m", "SHUTDOWN_TIMEOUT=300ms")...)
	p.waitLine(`msg="run started"`)
	began := time.Now()
	p.signal(syscall.SIGTERM)
	p.waitLine(`msg="run cancelled"`)
	if code := p.exitCode(); code != 0 {
		t.Errorf("exit status = %d, want 0 (the run returned once cancelled)", code)
	}
	if el := time.Since(began); el < 300*time.Millisecond {
		t.Errorf("exited %v after SIGTERM, before SHUTDOWN_TIMEOUT=300ms", el)
	}
}

func TestProcess_second_signal_exits_at_once(t *testing.T) {
	p := serviceProc(t, append(slowCronEnv, "SLOW_RUN_FOR=1m", "SHUTDOWN_TIMEOUT=1m")...)
	p.waitLine(`msg="run started"`)
	p.signal(syscall.SIGTERM)
	p.waitLine(`signal received: stopping intake`)
	p.signal(syscall.SIGINT)
	if code := p.exitCode(); code != 1 {
		t.Errorf("exit status after a second signal = %d, want 1", code)
	}
	p.waitLine(`second signal received: exiting at once`)
}

func TestProcess_production_logs_are_json_without_secrets(t *testing.T) {
	secrets := []string{"hunter2-secret-pw", "rollbar-token-secret"}
	p := serviceProc(t, append(slowCronEnv, "APP_ENV=production", "MESSAGING_TYPE=RabbitMqConnection",
		"RABBITMQ_PASSWORD="+secrets[0], "ROLLBAR_ACCESS_TOKEN="+secrets[1])...)
	p.waitLine(`"msg":"run finished"`)
	p.signal(syscall.SIGTERM)
	if code := p.exitCode(); code != 0 {
		t.Errorf("exit status = %d, want 0", code)
	}
	lines := p.Lines()
	if len(lines) < 4 {
		t.Fatalf("only %d log lines", len(lines))
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", l)
			continue
		}
		if rec["level"] == "DEBUG" {
			t.Errorf("DEBUG line in production: %s", l)
		}
		for _, s := range secrets {
			if strings.Contains(l, s) {
				t.Errorf("log line leaks a secret: %s", l)
			}
		}
	}
	if !strings.Contains(strings.Join(lines, "\n"), `"rollbar":true`) {
		t.Error("start-up log does not say Rollbar is on")
	}
}

func TestProcess_bad_environment_exits_2(t *testing.T) {
	p := serviceProc(t, "EXECUTION_TYPE=cron", "PROCESSOR_TYPE=SlowCron")
	if code := p.exitCode(); code != 2 {
		t.Errorf("exit status = %d, want 2", code)
	}
	want := []string{`invalid EXECUTION_TYPE="cron": want MESSAGING, CRON or BAND (upper case; unset means MESSAGING)`}
	if got := p.Lines(); strings.Join(got, "\n") != want[0] {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	if p.Stdout() != "" {
		t.Errorf("stdout = %q, want nothing", p.Stdout())
	}
}

func TestProcess_dotenv_values_reach_the_processor_and_exit_when_finished(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		".env":        "MESSAGING_TYPE=RabbitMqConnection\nPROCESSOR_TYPE=CountingProcessor\nCountingProcessor_QUEUE_NAME=counts\nCOUNT_PUBLISH=1\n",
		".env.local":  "COUNT_PUBLISH=5\nCONSUME_CONFIG_FILE_PATH=consume.env\n",
		"consume.env": "EXIT_WHEN_FINISHED=true\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := startProc(t, os.Args[0], dir, serviceEnv+"=1", "HEALTH_PORT=0")
	p.waitLine(`msg="processor closed" processed=5`)
	if code := p.exitCode(); code != 0 {
		t.Errorf("exit status = %d, want 0 (EXIT_WHEN_FINISHED)", code)
	}
}

// BlockingProcessor publishes one message at Init and processes it until its
// ctx is cancelled.
type BlockingProcessor struct {
	once    sync.Once
	started chan struct{}
}

func (p *BlockingProcessor) Init(ctx context.Context, rt rococo.Runtime) error {
	return rt.Publisher.Publish(ctx, "block", &rococo.Message{Body: []byte(`{}`)})
}

func (p *BlockingProcessor) Process(ctx context.Context, _ *rococo.Message) error {
	p.once.Do(func() { close(p.started) })
	<-ctx.Done()
	return ctx.Err()
}

// SHUTDOWN_TIMEOUT=0 is accepted and means no drain: in-flight messages get
// their ctx cancelled at once, as a cron run does; not the router's 30s
// default.
func TestRun_zero_shutdown_timeout_cancels_messages_at_once(t *testing.T) {
	p := &BlockingProcessor{started: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		code   int
		stderr string
	}
	res := make(chan result, 1)
	go func() {
		code, _, stderr := runIn(t, ctx, t.TempDir(), []string{
			"MESSAGING_TYPE=RabbitMqConnection", "PROCESSOR_TYPE=BlockingProcessor", "BlockingProcessor_QUEUE_NAME=block",
			"SHUTDOWN_TIMEOUT=0", "HEALTH_PORT=0",
		}, testInfo(), p)
		res <- result{code, stderr}
	}()
	select {
	case <-p.started:
	case r := <-res:
		t.Fatalf("service exited with %d before processing:\n%s", r.code, r.stderr)
	case <-time.After(10 * time.Second):
		t.Fatal("message not processed within 10s")
	}
	cancel()
	select {
	case r := <-res:
		if r.code != 0 {
			t.Errorf("exit status = %d, want 0:\n%s", r.code, r.stderr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SHUTDOWN_TIMEOUT=0: the in-flight message was not cancelled within 5s of the stop")
	}
}
