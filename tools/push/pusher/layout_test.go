package pusher

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// symlinkTree mirrors src in dst with a symlink per file, as Bazel's
// sandboxes and runfiles present a tree artifact.
func symlinkTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		return os.Symlink(p, out)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenLayoutResolvesSymlinks(t *testing.T) {
	idx := testIndex(t, []string{"A=1"})
	// The images listed in index.json directly.
	flat := filepath.Join(t.TempDir(), "flat")
	if _, err := layout.Write(flat, idx); err != nil {
		t.Fatal(err)
	}
	// index.json holding the index's descriptor, as rococo images and
	// `crane pull --format=oci` write it.
	real := filepath.Join(t.TempDir(), "real")
	p, err := layout.Write(real, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx); err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	links := filepath.Join(t.TempDir(), "links")
	symlinkTree(t, real, links)
	dirLink := filepath.Join(t.TempDir(), "dirlink")
	if err := os.Symlink(links, dirLink); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{flat, real, links, dirLink} {
		got, cleanup, err := OpenLayout(dir)
		if err != nil {
			t.Fatalf("OpenLayout(%s) = %v", dir, err)
		}
		d, _ := got.Digest()
		env := envOf(t, got) // reads every config blob
		cleanup()
		if d != want || len(env) != 2 {
			t.Errorf("OpenLayout(%s) = %s with %d images, want %s with 2", dir, d, len(env), want)
		}
	}
	if _, _, err := OpenLayout(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("OpenLayout(missing dir) = nil error")
	}
}
