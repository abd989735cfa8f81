package lib

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/rococo-go/rococo/common/appconfig"
	"github.com/rococo-go/rococo/rococo/config"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// tree creates files with the given ages under dir.
func tree(t *testing.T, dir string, files map[string]time.Duration) {
	t.Helper()
	for name, age := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("12345"), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := now.Add(-age)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
}

func left(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func newCleaner(t *testing.T, cfg Config) *Cleaner {
	t.Helper()
	c, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return now }
	return c
}

func TestClean(t *testing.T) {
	files := map[string]time.Duration{
		"old.tmp":        48 * time.Hour,
		"old.csv":        48 * time.Hour,
		"new.tmp":        time.Hour,
		"sub/old.tmp":    72 * time.Hour,
		"sub/new.tmp":    time.Minute,
		"edge.tmp":       24*time.Hour - time.Second,
		"sub/deep/x.tmp": 100 * time.Hour,
	}
	tests := []struct {
		name string
		cfg  Config
		want Result
		left []string
	}{
		{"all old files at top level", Config{MaxAge: 24 * time.Hour, Pattern: "*"},
			Result{Removed: 2, Bytes: 10, Kept: 2},
			[]string{"edge.tmp", "new.tmp", "sub/deep/x.tmp", "sub/new.tmp", "sub/old.tmp"}},
		{"pattern", Config{MaxAge: 24 * time.Hour, Pattern: "*.tmp"},
			Result{Removed: 1, Bytes: 5, Kept: 2},
			[]string{"edge.tmp", "new.tmp", "old.csv", "sub/deep/x.tmp", "sub/new.tmp", "sub/old.tmp"}},
		{"recursive", Config{MaxAge: 24 * time.Hour, Pattern: "*.tmp", Recursive: true},
			Result{Removed: 3, Bytes: 15, Kept: 3},
			[]string{"edge.tmp", "new.tmp", "old.csv", "sub/new.tmp"}},
		{"dry run", Config{MaxAge: 24 * time.Hour, Pattern: "*", Recursive: true, DryRun: true},
			Result{Removed: 4, Bytes: 20, Kept: 3},
			[]string{"edge.tmp", "new.tmp", "old.csv", "old.tmp", "sub/deep/x.tmp", "sub/new.tmp", "sub/old.tmp"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tree(t, dir, files)
			tc.cfg.Dir = dir
			got, err := newCleaner(t, tc.cfg).Clean(context.Background())
			if err != nil {
				t.Fatalf("Clean() error = %v", err)
			}
			if got != tc.want {
				t.Errorf("Clean() = %+v, want %+v", got, tc.want)
			}
			if l := left(t, dir); !slices.Equal(l, tc.left) {
				t.Errorf("files left = %q, want %q", l, tc.left)
			}
		})
	}
}

func TestClean_leaves_symlinks(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	tree(t, outside, map[string]time.Duration{"target": 100 * time.Hour})
	if err := os.Symlink(filepath.Join(outside, "target"), filepath.Join(dir, "link")); err != nil {
		t.Skipf("symlink: %v", err)
	}
	got, err := newCleaner(t, Config{Dir: dir, MaxAge: time.Hour, Pattern: "*"}).Clean(context.Background())
	if err != nil || got != (Result{}) {
		t.Errorf("Clean() = %+v, %v, want nothing done", got, err)
	}
	if l := left(t, outside); len(l) != 1 {
		t.Errorf("symlink target removed: %q", l)
	}
}

func TestClean_stops_when_ctx_cancelled(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]time.Duration{"a": 48 * time.Hour, "b": 48 * time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newCleaner(t, Config{Dir: dir, MaxAge: time.Hour, Pattern: "*"}).Clean(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Clean(cancelled ctx) error = %v, want context.Canceled", err)
	}
	if l := left(t, dir); len(l) != 2 {
		t.Errorf("files left = %q, want both", l)
	}
}

func TestClean_reports_files_it_cannot_remove(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no read-only directories on Windows")
	}
	dir := t.TempDir()
	tree(t, dir, map[string]time.Duration{"sub/a": 48 * time.Hour})
	sub := filepath.Join(dir, "sub")
	if os.Geteuid() == 0 {
		// Root removes files from a read-only directory: an immutable
		// file it cannot (CI runs as root).
		unremovable(t, filepath.Join(sub, "a"))
	} else {
		if err := os.Chmod(sub, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(sub, 0o755) })
	}
	got, err := newCleaner(t, Config{Dir: dir, MaxAge: time.Hour, Pattern: "*", Recursive: true}).Clean(context.Background())
	if err == nil || got.Failed != 1 {
		t.Errorf("Clean() = %+v, %v, want 1 failure and an error", got, err)
	}
}

func TestNew_rejects_bad_config(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{
		{Dir: dir, MaxAge: time.Hour, Pattern: "["},
		{Dir: dir, MaxAge: 0, Pattern: "*"},
		{Dir: file, MaxAge: time.Hour, Pattern: "*"},
		{Dir: filepath.Join(dir, "missing"), MaxAge: time.Hour, Pattern: "*"},
	} {
		if _, err := New(cfg, nil); err == nil {
			t.Errorf("New(%+v) error = nil", cfg)
		}
	}
}

func TestNew_creates_its_own_directory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "own", "scratch")
	if _, err := New(Config{Dir: dir, MaxAge: time.Hour, Pattern: "*", CreateDir: true}, nil); err != nil {
		t.Fatalf("New(CreateDir) error = %v", err)
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("after New(CreateDir): %v, %v, want a 0700 directory", fi, err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	got, err := ConfigFromEnv(appconfig.FromMap(map[string]string{
		"CLEANUP_DIR": "/data/uploads", "CLEANUP_MAX_AGE": "7d", "CLEANUP_PATTERN": "*.part",
	}))
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Var != "CLEANUP_MAX_AGE" {
		t.Errorf("ConfigFromEnv(7d) error = %v, want a CLEANUP_MAX_AGE error", err)
	}
	got, err = ConfigFromEnv(appconfig.FromMap(map[string]string{
		"CLEANUP_DIR": "/data/uploads", "CLEANUP_MAX_AGE": "168h", "CLEANUP_PATTERN": "*.part", "CLEANUP_RECURSIVE": "true",
		"CLEANUP_CREATE_DIR": "yes",
	}))
	want := Config{Dir: "/data/uploads", MaxAge: 168 * time.Hour, Pattern: "*.part", Recursive: true, CreateDir: true}
	if err != nil || got != want {
		t.Errorf("ConfigFromEnv() = %+v, %v, want %+v", got, err, want)
	}
	if _, err := ConfigFromEnv(appconfig.FromMap(nil)); !errors.As(err, &ce) || ce.Var != "CLEANUP_DIR" {
		t.Errorf("ConfigFromEnv(empty) error = %v, want missing CLEANUP_DIR", err)
	}
	if _, err := ConfigFromEnv(appconfig.FromMap(map[string]string{"CLEANUP_DIR": "/x", "CLEANUP_DRY_RUN": "perhaps"})); !errors.As(err, &ce) || ce.Var != "CLEANUP_DRY_RUN" {
		t.Errorf("ConfigFromEnv(dry run perhaps) error = %v", err)
	}
}

// unremovable makes path immutable (chattr +i) until the test ends; where
// that is not possible (no chattr, a file system or sandbox without
// immutable files) the test skips, or fails with CI=true.
func unremovable(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and chattr +i %s failed: %v %s", path, err, out)
		}
		t.Skipf("cannot make a file immutable here: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", path).Run() })
}
