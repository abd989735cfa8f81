package rococotest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BuildService builds the main package pkg, a path relative to the module
// root such as "./services/email_rabbitmq", with the go command into the
// test's temporary directory and returns the binary's path. The Go build
// cache makes every build after the first quick.
//
// It skips the test in -short mode, and where the go command or the
// module's source tree is missing: under bazel test, whose sandbox has
// neither (go test runs these tests).
func BuildService(t testing.TB, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a service process: skipped in -short mode")
	}
	goTool, err := exec.LookPath("go")
	if err != nil || os.Getenv("TEST_SRCDIR") != "" {
		t.Skip("needs the go command and the source tree: run it with go test, not bazel test")
	}
	out, err := exec.Command(goTool, "env", "GOMOD").Output()
	root := filepath.Dir(strings.TrimSpace(string(out)))
	if err != nil || root == "." || strings.TrimSpace(string(out)) == os.DevNull {
		t.Skipf("not inside the Go module (go env GOMOD: %q, %v)", out, err)
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command(goTool, "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Process is a program started by StartProcess, with its standard output
// and error captured together.
type Process struct {
	t    testing.TB
	cmd  *exec.Cmd
	out  Buffer
	done chan struct{}
	err  error // Wait's error, once done is closed
}

// StartProcess starts bin in dir with exactly the environment env. The
// process is killed, if still running, when the test ends, and its output
// is logged when the test failed.
func StartProcess(t testing.TB, bin, dir string, env []string) *Process {
	t.Helper()
	p := &Process{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), p.Output())
		}
	})
	return p
}

// Output returns what the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits up to d for the process to exit and returns its exit status;
// the test fails when it is still running after d.
func (p *Process) Wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("%s still running after %v", filepath.Base(p.cmd.Path), d)
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	p.t.Fatalf("%s: %v", filepath.Base(p.cmd.Path), p.err)
	return -1
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v to %s: %v", sig, filepath.Base(p.cmd.Path), err)
	}
}

// Err returns how the process exited (an *exec.ExitError for a non-zero
// status, nil for status 0), or nil while it is still running.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}
