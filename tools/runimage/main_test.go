package main

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/rococo-go/rococo/tools/imagebuilder/ociimage"
)

func TestCommand(t *testing.T) {
	cf := &v1.ConfigFile{Config: v1.Config{
		Entrypoint: []string{"/app/svc"},
		Cmd:        []string{"--default"},
		Env:        []string{"A=1", "B=2"},
		User:       "65532:65532",
		WorkingDir: "/app",
	}}
	tests := []struct {
		name     string
		net      bool
		args     []string
		wantTail []string
		wantNet  bool
	}{
		{"default cmd, isolated", true, nil, []string{"--", "/app/svc", "--default"}, true},
		{"args replace cmd, host net", false, []string{"x"}, []string{"--", "/app/svc", "x"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := command(context.Background(), cf, "/r", tc.net, []string{"B=3", "C=4"}, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			got := cmd.Args
			if tail := got[len(got)-len(tc.wantTail):]; !reflect.DeepEqual(tail, tc.wantTail) {
				t.Errorf("args end %q, want %q", tail, tc.wantTail)
			}
			joined := strings.Join(got, " ")
			for _, want := range []string{"--root=/r", "--wd=/app", "--setuid 65532", "--setgid 65532", "--pid", "--mount"} {
				if !strings.Contains(joined, want) {
					t.Errorf("args %q lack %q", joined, want)
				}
			}
			if strings.Contains(joined, " --net ") != tc.wantNet {
				t.Errorf("args %q: --net present = %v, want %v", joined, !tc.wantNet, tc.wantNet)
			}
			if want := []string{"A=1", "B=3", "C=4"}; !reflect.DeepEqual(cmd.Env, want) {
				t.Errorf("env = %q, want %q", cmd.Env, want)
			}
		})
	}
	bad := *cf
	bad.Config.User = "nonroot"
	if _, err := command(context.Background(), &bad, "/r", true, nil, nil); err == nil {
		t.Error("command() with a user name = nil error, want numeric UID:GID required")
	}
}

// zipWithUTC is a time zone database holding one (empty) zone: enough for
// the builder, which copies zones as files.
func zipWithUTC(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.Create("UTC"); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUnpackKeepsModesAndOwners(t *testing.T) {
	dir := t.TempDir()
	// Unpacking sets owners: it needs root, with uid 65532 mapped (Bazel's
	// sandbox runs tests in a user namespace that maps only root).
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(probe, 65532, 65532); err != nil {
		t.Skipf("cannot give files to uid 65532 here: %v", err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, []byte("binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	idx, err := ociimage.Build(ociimage.Options{
		Name:     "svc",
		Binaries: []ociimage.Binary{{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Path: bin}},
		ZoneInfo: zipWithUTC(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := pick(idx, v1.Platform{OS: "linux", Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "rootfs")
	if err := unpack(img, root); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		mode os.FileMode
		uid  uint32
	}{
		{"app/svc", 0o755, 0},
		{"tmp", os.ModeDir | os.ModeSticky | 0o777, 0},
		{"home/nonroot", os.ModeDir | 0o700, 65532},
		{"usr/share/zoneinfo/UTC", 0o644, 0},
	}
	for _, tc := range tests {
		fi, err := os.Stat(filepath.Join(root, tc.path))
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		uid := fi.Sys().(*syscall.Stat_t).Uid
		if fi.Mode() != tc.mode || uid != tc.uid {
			t.Errorf("/%s = mode %v uid %d, want mode %v uid %d", tc.path, fi.Mode(), uid, tc.mode, tc.uid)
		}
	}
	if _, err := pick(idx, v1.Platform{OS: "linux", Architecture: "riscv64"}); err == nil {
		t.Error("pick(riscv64) = nil error")
	}
}
