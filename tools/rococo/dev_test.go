package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the child's writes and the test's
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const devMain = `package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	fmt.Printf("VERSION %s APP_ENV=%s LOG_FORMAT=%s QUEUE=%s LOCAL=%s SHELL_WINS=%s\n", "v1", os.Getenv("APP_ENV"), os.Getenv("LOG_FORMAT"), os.Getenv("EchoProcessor_QUEUE_NAME"), os.Getenv("FROM_LOCAL"), os.Getenv("ROCOCO_DEV_TEST"))
	fmt.Printf("OWN GROUP %v\n", syscall.Getpgrp() == os.Getpid())
	<-sig
	fmt.Println("STOPPED cleanly")
}
`

// TestDev builds and runs a service of a workspace with its layered env
// (baked APP_ENV=production replaced by development logging, .env.local
// over .env, the shell over both), rebuilds and restarts it when a source
// changes (the old process gets SIGTERM), and stops it when interrupted.
func TestDev(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		// bazel test runs without the host's PATH; go test ./tools/rococo
		// runs this test.
		if os.Getenv("CI") == "true" && os.Getenv("TEST_SRCDIR") == "" {
			t.Fatal("rococo dev needs the go command on PATH")
		}
		t.Skip("no go command on PATH (run go test ./tools/rococo)")
	}
	ws := t.TempDir()
	files := map[string]string{
		"MODULE.bazel":                  "module(name = \"devtest\")\n",
		"go.mod":                        "module example.com/devtest\n\ngo 1.22\n",
		".env":                          "FROM_LOCAL=workspace-env\n",
		"services/echo/.env.local":      "FROM_LOCAL=service-env-local\nROCOCO_DEV_TEST=from-dotenv\n",
		"services/echo/main.go":         devMain,
		"services/echo/BUILD.bazel":     "rococo_service(\n    name = \"echo\",\n    env = {\"APP_ENV\": \"production\", \"EchoProcessor_QUEUE_NAME\": \"echoes\"},\n    messaging_type = \"RabbitMqConnection\",\n    processor_type = \"EchoProcessor\",\n)\n",
		"services/echo/lib/README.txt":  "nothing\n",
		"services/.hidden/ignored.txt":  "x\n",
		"services/echo/.git/ignored.go": "x\n",
	}
	for name, content := range files {
		p := filepath.Join(ws, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("ROCOCO_DEV_TEST", "from-shell")
	t.Setenv("GOFLAGS", "-mod=mod")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	env := func(k string) string {
		if k == "BUILD_WORKSPACE_DIRECTORY" {
			return ws
		}
		return ""
	}
	go func() {
		done <- devOptions{poll: 50 * time.Millisecond, stop: 10 * time.Second}.run(ctx, []string{"echo"}, env, &stdout, &stderr)
	}()
	waitFor := func(what string, buf *syncBuffer) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(buf.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q within 60s; stdout:\n%s\nstderr:\n%s", what, stdout.String(), stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("VERSION v1 APP_ENV=development LOG_FORMAT=text QUEUE=echoes LOCAL=service-env-local SHELL_WINS=from-shell", &stdout)

	// A source change: rebuilt, the old process stopped, the new one started.
	src := filepath.Join(ws, "services/echo/main.go")
	if err := os.WriteFile(src, []byte(strings.Replace(devMain, `"v1"`, `"v2"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("VERSION v2", &stdout)
	if !strings.Contains(stdout.String(), "STOPPED cleanly") {
		t.Errorf("the first process was not stopped with SIGTERM before the restart:\n%s", stdout.String())
	}
	waitFor("main.go changed: rebuilding", &stderr)
	if !strings.Contains(stdout.String(), "OWN GROUP true") {
		t.Errorf("the service does not run in its own process group:\n%s", stdout.String())
	}

	// A BUILD.bazel change: the restarted service has the new env.
	build := filepath.Join(ws, "services/echo/BUILD.bazel")
	if err := os.WriteFile(build, []byte(strings.Replace(files["services/echo/BUILD.bazel"], `"echoes"`, `"echoes-v2"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("BUILD.bazel changed: rebuilding", &stderr)
	waitFor("VERSION v2 APP_ENV=development LOG_FORMAT=text QUEUE=echoes-v2 ", &stdout)

	// A broken source: the build fails, dev waits for the next change.
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { undefined() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("build failed", &stderr)

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("rococo dev exited %d after the interrupt, want 0", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("rococo dev did not stop after the interrupt")
	}
}

func TestDev_bad_input(t *testing.T) {
	ws := fakeWorkspace(t)
	tests := []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{[]string{"dev"}, 2, "usage: rococo dev <service>"},
		{[]string{"dev", "a", "b"}, 2, "usage: rococo dev <service>"},
		{[]string{"dev", "nope"}, 2, "no service nope"},
	}
	for _, tc := range tests {
		code, _, errs := runCLI(t, ws, "", tc.args...)
		if code != tc.wantCode || !strings.Contains(errs, tc.wantErr) {
			t.Errorf("rococo %q: %d %q, want %d and %q", tc.args, code, errs, tc.wantCode, tc.wantErr)
		}
	}
}

// TestMain runs the test binary as the rococo command when
// ROCOCO_TEST_AS_CLI=1, for tests that signal a real rococo process.
func TestMain(m *testing.M) {
	if os.Getenv("ROCOCO_TEST_AS_CLI") == "1" {
		main()
	}
	os.Exit(m.Run())
}

const drainMain = `package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	fmt.Println("SERVING")
	s := <-sig
	fmt.Println("SIGNAL", s)
	deadline := time.After(300 * time.Millisecond) // draining
	for {
		select {
		case s := <-sig:
			fmt.Println("SIGNAL", s)
		case <-deadline:
			fmt.Println("DRAINED")
			os.Exit(0)
		}
	}
}
`

// TestDev_ctrl_c: Ctrl-C at a terminal sends SIGINT to the whole
// foreground process group; the service, in a group of its own, gets only
// dev's one SIGTERM, and drains.
func TestDev_ctrl_c(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH (run go test ./tools/rococo)")
	}
	ws := t.TempDir()
	for name, content := range map[string]string{
		"MODULE.bazel":               "module(name = \"devtest\")\n",
		"go.mod":                     "module example.com/devtest\n\ngo 1.22\n",
		"services/drain/main.go":     drainMain,
		"services/drain/BUILD.bazel": "rococo_service(\n    name = \"drain\",\n    execution_type = \"BAND\",\n)\n",
	} {
		p := filepath.Join(ws, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out syncBuffer
	cmd := exec.Command(os.Args[0], "dev", "drain")
	cmd.Env = append(os.Environ(), "ROCOCO_TEST_AS_CLI=1", "BUILD_WORKSPACE_DIRECTORY="+ws, "GOFLAGS=-mod=mod")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // as a shell's foreground job
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "SERVING") {
		if time.Now().After(deadline) {
			t.Fatalf("the service did not start within 60s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The terminal's Ctrl-C: SIGINT to every process of the foreground group.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("rococo dev after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("rococo dev did not stop after Ctrl-C:\n%s", out.String())
	}
	got := out.String()
	if strings.Count(got, "SIGNAL ") != 1 || !strings.Contains(got, "SIGNAL terminated") || !strings.Contains(got, "DRAINED") {
		t.Errorf("want the service to get one SIGTERM and drain; output:\n%s", got)
	}
}
