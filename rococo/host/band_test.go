package host

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

func TestRun_band_configuration_errors_exit_2_with_one_line(t *testing.T) {
	handlerService := func() *band.Service {
		s := band.New()
		band.Handle(s, "ping", func(context.Context, struct{}) (string, error) { return "pong", nil })
		return s
	}
	badRoute := band.New()
	band.Handle(badRoute, "GET /status", func(context.Context, struct{}) (string, error) { return "", nil })
	tests := []struct {
		name   string
		env    []string
		args   []string
		config string
		procs  []any
		want   string
	}{
		{"no band service", []string{"EXECUTION_TYPE=BAND"}, nil, "", []any{&SlowCron{}},
			"EXECUTION_TYPE=BAND runs a band service, and none was passed to Main: call common.Main(s) with s := band.New(...)"},
		{"two band services", []string{"EXECUTION_TYPE=BAND"}, nil, "", []any{band.New(), band.New()},
			"two band services were passed to Main: register every function on one band.New()"},
		{"a registration mistake", []string{"EXECUTION_TYPE=BAND"}, nil, "", []any{badRoute},
			`band: status: the pattern "GET /status" serves GET /status, the runtime's own path. Fix: choose another path: /healthz, /readyz, /metrics and /status are the runtime's.`},
		{"a settings mistake", []string{"EXECUTION_TYPE=BAND"}, nil, "name: svc\ncolour: blue\n", []any{band.New()},
			"config.yaml:2: colour: the service declares no settings, so the key is unknown. Fix: remove it, or give the service a settings struct (band.Settings) with a field for it"},
		{"handlers without a port", []string{"EXECUTION_TYPE=BAND", "HEALTH_PORT=0"}, nil, "", []any{handlerService()},
			`invalid HEALTH_PORT="0": want a port number 1-65535: the service's 1 handler(s) are served on it (0 turns it off)`},
		{"--once", []string{"EXECUTION_TYPE=BAND"}, []string{"svc", "--once"}, "", []any{handlerService()},
			"--once runs a cron processor once, and EXECUTION_TYPE=BAND has none: run the service without --once"},
		{"a band mistake stops a messaging service too", []string{"MESSAGING_TYPE=RabbitMqConnection", "PROCESSOR_TYPE=CountingProcessor", "CountingProcessor_QUEUE_NAME=q"}, nil, "", []any{&CountingProcessor{}, badRoute},
			`band: status: the pattern "GET /status" serves GET /status, the runtime's own path. Fix: choose another path: /healthz, /readyz, /metrics and /status are the runtime's.`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args := tc.args
			if args == nil {
				args = []string{"svc"}
			}
			var stdout, stderr bytes.Buffer
			o := options{stdout: &stdout, stderr: &stderr, dir: dir}
			code := o.run(context.Background(), args, tc.env, testInfo(), tc.procs...)
			if code != 2 || stderr.String() != tc.want+"\n" || stdout.Len() != 0 {
				t.Errorf("exit %d, stdout %q, stderr\n%q\nwant 2 and the line\n%q", code, stdout.String(), stderr.String(), tc.want+"\n")
			}
		})
	}
}

// running is a host run in its own goroutine.
type running struct {
	t      *testing.T
	stdout *rococotest.Buffer
	stderr *rococotest.Buffer
	done   chan struct{} // closed when the run returned its exit status
	exit   int
	cancel context.CancelFunc
	url    string
}

func runAsync(t *testing.T, dir string, env []string, procs ...any) *running {
	t.Helper()
	return runAsyncInfo(t, dir, env, testInfo(), procs...)
}

// runAsyncInfo is runAsync with the service's Info (its transports).
func runAsyncInfo(t *testing.T, dir string, env []string, info Info, procs ...any) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, stdout: &rococotest.Buffer{}, stderr: &rococotest.Buffer{}, done: make(chan struct{}), cancel: cancel}
	o := options{stdout: r.stdout, stderr: r.stderr, dir: dir}
	go func() {
		defer close(r.done)
		r.exit = o.run(ctx, []string{"svc"}, append([]string{"HEALTH_ADDR=127.0.0.1:0"}, env...), info, procs...)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(wait):
		}
		if t.Failed() {
			t.Logf("stderr:\n%s", r.stderr.String())
		}
	})
	re := regexp.MustCompile(`health server listening"? addr=([0-9.:]+)`)
	deadline := time.Now().Add(wait)
	for r.url == "" {
		if m := re.FindStringSubmatch(r.stderr.String()); m != nil {
			r.url = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listen address:\n%s", r.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return r
}

// stop cancels the run (the signal) and returns its exit status.
func (r *running) stop() int {
	r.t.Helper()
	r.cancel()
	select {
	case <-r.done:
		return r.exit
	case <-time.After(wait):
		r.t.Fatal("the run did not stop")
		return -1
	}
}

func (r *running) until(path string, cond func(code int, body string) bool) (int, string) {
	r.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		code, body := get(r.t, r.url+path)
		if cond(code, body) {
			return code, body
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("GET %s = %d %s, never what was waited for", path, code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRun_band_serves_its_functions_and_cleans_up(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("name: geo\ngreeting: \"{{ GREETING|default('hello') }}\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	settings := struct {
		Greeting string `yaml:"greeting"`
	}{}
	var cleaned atomic.Bool
	s := band.New(band.Settings(&settings))
	band.Handle(s, "hello", func(context.Context, struct{}) (string, error) { return settings.Greeting, nil })
	s.Worker("load", func(ctx context.Context) error { band.MarkReady(ctx); <-ctx.Done(); return nil }, band.GatesReadiness())
	s.Cleanup("flush", func(context.Context) error { cleaned.Store(true); return nil })
	r := runAsync(t, dir, []string{"EXECUTION_TYPE=BAND", "GREETING=bonjour", "PROCESSOR_TYPE=Leftover"}, s, &SlowCron{})

	r.until("/readyz", func(code int, _ string) bool { return code == 200 })
	if code, body := get(t, r.url+"/hello"); code != 200 || body != "\"bonjour\"\n" {
		t.Errorf("GET /hello = %d %q, want the settings' greeting", code, body)
	}
	_, body := get(t, r.url+"/status")
	var st struct {
		Service       string
		State         string
		ExecutionType string `json:"execution_type"`
		Processor     string
		Functions     []struct{ Name, Role string }
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Service != "geo" || st.State != "ready" || st.ExecutionType != "BAND" || st.Processor != "" || len(st.Functions) != 3 {
		t.Errorf("/status = %s", body)
	}
	if !strings.HasPrefix(r.stdout.String(), "Rococo Service Host Version: 0.1.0\ngeo running at version: 1.2.3\n") {
		t.Errorf("banner = %q, want the settings' name", r.stdout.String())
	}
	if code := r.stop(); code != 0 || !cleaned.Load() {
		t.Errorf("exit %d, cleaned %v; want 0 and the cleanup run", code, cleaned.Load())
	}
}

// TestRun_messaging_with_band_functions: a queue consumer with an admin
// endpoint and a worker; the cleanup runs after the processor drained and
// before it is closed.
func TestRun_messaging_with_band_functions(t *testing.T) {
	t.Setenv("COUNT_PUBLISH", "3") // CountingProcessor's Init reads them from the process
	t.Setenv("CountingProcessor_QUEUE_NAME", "q")
	p := &CountingProcessor{}
	count := func() int { p.mu.Lock(); defer p.mu.Unlock(); return p.n }
	s := band.New()
	band.Handle(s, "GET /admin/processed", func(context.Context, struct{}) (int, error) { return count(), nil })
	band.Handle(s, "POST /admin/publish", func(ctx context.Context, _ struct{}) (band.Response, error) {
		pub := band.Publisher(ctx)
		if pub == nil {
			return nil, band.Errorf(503, "no publisher")
		}
		return band.Status(202, nil), pub.Publish(ctx, "q", &rococo.Message{Body: []byte(`{"n":99}`)})
	})
	var ticks atomic.Int32
	s.Every("tick", 10*time.Millisecond, func(context.Context) error { ticks.Add(1); return nil })
	s.Cleanup("report", func(context.Context) error {
		p.log.Info("band cleanup saw processed", "n", count())
		return nil
	})
	r := runAsync(t, t.TempDir(), []string{"MESSAGING_TYPE=RabbitMqConnection", "PROCESSOR_TYPE=CountingProcessor", "CountingProcessor_QUEUE_NAME=q"}, p, s)

	r.until("/admin/processed", func(_ int, body string) bool { return body == "3\n" })
	resp, err := client.Post(r.url+"/admin/publish", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Errorf("POST /admin/publish = %d, want 202", resp.StatusCode)
	}
	r.until("/admin/processed", func(_ int, body string) bool { return body == "4\n" })
	r.until("/readyz", func(code int, _ string) bool { return code == 200 })
	// The counter is exported from the start (at 0): wait for a run.
	tickRuns := regexp.MustCompile(`rococo_band_scheduled_runs_total\{function="tick"\} [1-9]`)
	r.until("/metrics", func(_ int, body string) bool { return tickRuns.MatchString(body) })
	_, body := get(t, r.url+"/status")
	if !strings.Contains(body, `"execution_type": "MESSAGING"`) || !strings.Contains(body, `"processor": "CountingProcessor"`) ||
		!strings.Contains(body, `"state": "running"`) || !strings.Contains(body, `"name": "tick"`) {
		t.Errorf("/status = %s", body)
	}
	if code := r.stop(); code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	logs := r.stderr.String()
	i, j := strings.Index(logs, `msg="band cleanup saw processed" n=4`), strings.Index(logs, `msg="processor closed" processed=4`)
	if i < 0 || j < i {
		t.Errorf("want the band cleanup (after the drain) before the processor's Close:\n%s", logs)
	}
	if ticks.Load() == 0 {
		t.Error("the scheduled function never ran")
	}
	// "stopped", or "stopped after the run in progress finished" when the stop came mid-run.
	if !regexp.MustCompile(`msg="cron scheduler stopped[^"]*" component=band function=tick`).MatchString(logs) {
		t.Error("the scheduled function was not stopped")
	}
}

// TestRun_cron_with_band_functions: a cron processor with an admin handler
// and a worker that gates readiness; at shutdown the run in progress
// finishes, then the band cleanup runs, and the exit status is 0.
func TestRun_cron_with_band_functions(t *testing.T) {
	t.Setenv("SLOW_RUN_FOR", "300ms") // SlowCron's Init reads it from the process
	var cleaned atomic.Bool
	loaded := make(chan struct{})
	s := band.New()
	band.Handle(s, "GET /admin/ping", func(context.Context, struct{}) (string, error) { return "pong", nil })
	s.Worker("load", func(ctx context.Context) error {
		<-loaded
		band.MarkReady(ctx)
		<-ctx.Done()
		return nil
	}, band.GatesReadiness())
	s.Cleanup("flush", func(context.Context) error { cleaned.Store(true); return nil })
	r := runAsync(t, t.TempDir(), []string{"EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=SlowCron", "CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=hours", "RUN_AT_STARTUP=true"}, &SlowCron{}, s)

	if code, body := get(t, r.url+"/admin/ping"); code != 200 || body != "\"pong\"\n" {
		t.Errorf("GET /admin/ping = %d %q, want the handler's answer", code, body)
	}
	if code, body := get(t, r.url+"/readyz"); code != 503 || !strings.Contains(body, "waiting for 1 worker(s)") {
		t.Errorf("/readyz before the worker's first round = %d %q, want 503 naming the worker", code, body)
	}
	close(loaded)
	r.until("/readyz", func(code int, _ string) bool { return code == 200 })
	_, body := get(t, r.url+"/status")
	if !strings.Contains(body, `"execution_type": "CRON"`) || !strings.Contains(body, `"processor": "SlowCron"`) ||
		!strings.Contains(body, `"name": "admin_ping"`) || !strings.Contains(body, `"role": "worker"`) {
		t.Errorf("/status = %s", body)
	}
	for !strings.Contains(r.stderr.String(), `msg="run started"`) {
		time.Sleep(5 * time.Millisecond)
	}
	if code := r.stop(); code != 0 || !cleaned.Load() {
		t.Fatalf("exit %d, cleaned %v; want 0 and the cleanup run", code, cleaned.Load())
	}
	logs := r.stderr.String()
	i, j := strings.Index(logs, `msg="run finished"`), strings.Index(logs, `msg="cleanup done" component=band function=flush`)
	if i < 0 || j < i {
		t.Errorf("want the run in progress to finish before the band cleanup:\n%s", logs)
	}
}
