package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rococo-go/rococo/tools/rococo/internal/service"
)

// devDefaults are what `rococo dev` changes in the baked env: development
// logging (text, DEBUG) unless .env, .env.local or the shell say otherwise.
var devDefaults = map[string]string{"APP_ENV": "development", "LOG_FORMAT": "text"}

// devOptions are what the tests vary.
type devOptions struct {
	poll time.Duration // how often sources are checked for changes
	stop time.Duration // how long a stopped service may drain before it is killed
}

// cmdDev is `rococo dev <service>`: build the service with go build, run it
// on the host with its env, rebuild and restart it when its sources change,
// until interrupted.
func cmdDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return devOptions{poll: 500 * time.Millisecond, stop: 35 * time.Second}.run(ctx, args, getenv, stdout, stderr)
}

func (o devOptions) run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("rococo dev", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprintln(stderr, "usage: rococo dev <service>") }
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if name == "" || fset.NArg() > 0 {
		fset.Usage()
		return 2
	}
	ws, err := workspace(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "rococo dev: %v\n", err)
		return 1
	}
	svc, err := service.Load(ws, name)
	if err != nil {
		fmt.Fprintf(stderr, "rococo dev: %v\n", err)
		return exitCode(err)
	}
	dir := svc.Dir
	bin := filepath.Join(os.TempDir(), fmt.Sprintf("rococo-dev-%s-%d", name, os.Getpid()))
	defer os.Remove(bin)
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "rococo dev: "+format+"\n", a...) }

	var child *exec.Cmd
	var exited chan error
	stopChild := func() {
		if child == nil {
			return
		}
		_ = child.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(o.stop):
			logf("%s did not stop within %v: killing it", name, o.stop)
			_ = child.Process.Kill()
			<-exited
		}
		child = nil
	}
	defer stopChild()

	seen := snapshot(ws, dir)
	for first := true; ; first = false {
		// Build and start, with BUILD.bazel read again: its env may have
		// changed.
		if !first {
			svc, err = service.Load(ws, name)
		}
		var environ []string
		if err == nil {
			environ, err = svc.Environ(devDefaults, os.Environ())
		}
		if err != nil {
			logf("%v; waiting for a change", err)
		} else if err := goBuild(ctx, ws, name, bin, stderr); err != nil {
			if ctx.Err() != nil {
				return 0
			}
			logf("build failed (%v); waiting for a change", err)
		} else {
			child = exec.Command(bin)
			child.Dir, child.Env, child.Stdout, child.Stderr = dir, environ, stdout, stderr
			// Its own process group: a Ctrl-C at the terminal (SIGINT to
			// the foreground group) reaches dev only, which stops the
			// service with one SIGTERM so that it drains. Pdeathsig: it
			// does not outlive dev.
			child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
			if err := child.Start(); err != nil {
				logf("start %s: %v", name, err)
				child = nil
			} else {
				logf("started %s (pid %d); watching %s for changes", name, child.Process.Pid, rel(ws, dir))
				exited = make(chan error, 1)
				go func(c *exec.Cmd, done chan<- error) { done <- c.Wait() }(child, exited)
			}
		}
		// Wait for a change, an exit or an interrupt.
		for changed := false; !changed; {
			select {
			case <-ctx.Done():
				logf("interrupted: stopping %s", name)
				return 0
			case err := <-exited:
				logf("%s exited (%v); restarting on the next change", name, exitText(err))
				child = nil
			case <-time.After(o.poll):
				now := snapshot(ws, dir)
				if path := diff(seen, now); path != "" {
					logf("%s changed: rebuilding", path)
					seen, changed = now, true
				}
			}
		}
		stopChild()
	}
}

// exitCode is the exit status of a command that failed with err: 2 for an
// invalid or unknown service name (a usage error), else 1.
func exitCode(err error) int {
	var ne *service.NameError
	if errors.As(err, &ne) {
		return 2
	}
	return 1
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

func rel(ws, p string) string {
	if r, err := filepath.Rel(ws, p); err == nil {
		return r
	}
	return p
}

// goBuild builds ./services/<name> of the workspace into bin.
func goBuild(ctx context.Context, ws, name, bin string, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "-ldflags", "-X github.com/rococo-go/rococo/common/version.Name="+name, "./services/"+name)
	cmd.Dir, cmd.Stdout, cmd.Stderr = ws, stderr, stderr
	return cmd.Run()
}

// snapshot records the modification time and size of what a rebuild or a
// restart depends on: the service directory's files (sources, config,
// .env), the workspace's .env files and go.mod/go.sum.
func snapshot(ws, dir string) map[string]string {
	files := map[string]string{}
	add := func(p string) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			files[p] = fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
		}
	}
	for _, n := range []string{".env", ".env.local", "go.mod", "go.sum"} {
		add(filepath.Join(ws, n))
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && p != dir && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "bazel-")) {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			add(p)
		}
		return nil
	})
	return files
}

// diff returns a path that was added, removed or changed, "" for none.
func diff(a, b map[string]string) string {
	for p, v := range b {
		if a[p] != v {
			return p
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			return p
		}
	}
	return ""
}
