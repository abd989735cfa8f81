// Command runimage runs a service image from an OCI image layout without a
// container engine: it unpacks the image's filesystem for one platform into a
// root directory, then starts the entrypoint under util-linux unshare(1) with
// the image config's environment, working directory and user, in new mount
// and PID namespaces (and a network namespace with only loopback unless
// --net=host). It needs root, as unshare --root does.
//
//	runimage --layout bazel-bin/services/cleanup_cron/image [--net host] [-e K=V]... [--keep DIR] [-- args]
//
// It prints the rootfs and the command to stderr, forwards SIGINT and
// SIGTERM to the service and exits with the service's exit status. It is the
// "real container runtime" check of rules/README.md; podman runs the same
// images from their image.tar.
package main

import (
	"archive/tar"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/rococo-go/rococo/tools/internal/cli"
	"github.com/rococo-go/rococo/tools/push/pusher"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "runimage: %v\n", err)
	}
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("runimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	layoutDir := fs.String("layout", "", "OCI image layout directory (required)")
	platform := fs.String("platform", "linux/"+runtime.GOARCH, "platform to run")
	network := fs.String("net", "none", "none: a new network namespace with only loopback; host: the host's network")
	keep := fs.String("keep", "", "unpack into this directory and keep it (default: a temporary directory, removed after)")
	var extraEnv cli.Strings
	fs.Var(&extraEnv, "e", "K=V added to (or replacing in) the image's env; repeatable")
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	if *layoutDir == "" || (*network != "none" && *network != "host") {
		return 2, errors.New("--layout is required and --net must be none or host")
	}
	p, err := v1.ParsePlatform(*platform)
	if err != nil {
		return 2, err
	}
	idx, cleanup, err := pusher.OpenLayout(*layoutDir)
	if err != nil {
		return 1, err
	}
	defer cleanup()
	img, err := pick(idx, *p)
	if err != nil {
		return 1, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return 1, fmt.Errorf("read config: %w", err)
	}
	root := *keep
	if root == "" {
		if root, err = os.MkdirTemp("", "rootfs"); err != nil {
			return 1, err
		}
		defer os.RemoveAll(root)
	} else if err := os.MkdirAll(root, 0o755); err != nil {
		return 1, err
	}
	if err := unpack(img, root); err != nil {
		return 1, err
	}
	cmd, err := command(ctx, cf, root, *network == "none", extraEnv, fs.Args())
	if err != nil {
		return 2, err
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	fmt.Fprintf(stderr, "runimage: rootfs %s\nruntime: %s\n", root, strings.Join(cmd.Args, " "))
	err = cmd.Run()
	if cmd.ProcessState != nil {
		// Exited, by itself or after the forwarded signal: its status is ours.
		return cmd.ProcessState.ExitCode(), nil
	}
	return 1, fmt.Errorf("run %s: %w", cmd.Path, err)
}

// command builds the unshare command line for the image config cf.
func command(ctx context.Context, cf *v1.ConfigFile, root string, isolateNet bool, extraEnv, args []string) (*exec.Cmd, error) {
	uid, gid, ok := strings.Cut(cf.Config.User, ":")
	if cf.Config.User == "" {
		uid, gid, ok = "0", "0", true
	}
	if !ok {
		gid = uid
	}
	for _, id := range []string{uid, gid} {
		if id == "" || strings.Trim(id, "0123456789") != "" {
			return nil, fmt.Errorf("image user %q: want numeric UID:GID", cf.Config.User)
		}
	}
	argv := append(append([]string{}, cf.Config.Entrypoint...), cf.Config.Cmd...)
	if len(args) > 0 {
		argv = append(append([]string{}, cf.Config.Entrypoint...), args...)
	}
	if len(argv) == 0 {
		return nil, errors.New("image has no entrypoint or cmd")
	}
	wd := cf.Config.WorkingDir
	if wd == "" {
		wd = "/"
	}
	unshare := []string{"--mount", "--pid", "--fork", "--kill-child", "--root=" + root, "--wd=" + wd, "--setuid", uid, "--setgid", gid}
	if isolateNet {
		unshare = append(unshare, "--net")
	}
	cmd := exec.CommandContext(ctx, "unshare", append(append(unshare, "--"), argv...)...)
	// unshare --fork does not pass signals on: on cancel, SIGTERM goes to
	// its child (the service, PID 1 of the new namespace), which drains and
	// exits; unshare then exits with its status.
	cmd.Cancel = func() error { return signalChildren(cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Minute
	cmd.Env = mergeEnv(cf.Config.Env, extraEnv)
	return cmd, nil
}

// signalChildren sends sig to the children of pid, or to pid itself when it
// has none.
func signalChildren(pid int, sig syscall.Signal) error {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	kids := strings.Fields(string(data))
	if err != nil || len(kids) == 0 {
		return syscall.Kill(pid, sig)
	}
	var errs []error
	for _, k := range kids {
		if n, err := strconv.Atoi(k); err == nil {
			errs = append(errs, syscall.Kill(n, sig))
		}
	}
	return errors.Join(errs...)
}

func mergeEnv(base, extra []string) []string {
	out := append([]string{}, base...)
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, b := range out {
			if bk, _, _ := strings.Cut(b, "="); bk == k {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

func pick(idx v1.ImageIndex, p v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	var have []string
	for _, d := range im.Manifests {
		if d.Platform == nil {
			continue
		}
		have = append(have, d.Platform.String())
		if d.Platform.OS == p.OS && d.Platform.Architecture == p.Architecture {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("no %s image in the index (it has %v)", p.String(), have)
}

// unpack writes img's flattened filesystem under root, keeping modes and
// numeric owners.
func unpack(img v1.Image, root string) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read image filesystem: %w", err)
		}
		name := filepath.Clean("/" + hdr.Name)
		target := filepath.Join(root, name)
		mode := os.FileMode(hdr.Mode & 0o777)
		if hdr.Mode&0o1000 != 0 {
			mode |= os.ModeSticky
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
			continue
		default:
			continue
		}
		if err := os.Chmod(target, mode); err != nil {
			return err
		}
		if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("chown %s (run as root): %w", name, err)
		}
	}
}
