package pusher

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// OpenLayout reads the OCI image layout in dir. Bazel hands layouts to
// actions, tests and `bazel run` as trees of symlinks, which
// go-containerregistry's layout reader refuses for blobs; such a layout is
// first materialised in a temporary directory (hard links where possible,
// else copies). The caller must call cleanup once done with the index.
func OpenLayout(dir string) (idx v1.ImageIndex, cleanup func(), err error) {
	cleanup = func() {}
	if resolved, err := filepath.EvalSymlinks(dir); err == nil {
		dir = resolved
	}
	links, err := hasSymlinks(dir)
	if err != nil {
		return nil, cleanup, fmt.Errorf("read image layout %s: %w", dir, err)
	}
	if links {
		tmp, err := os.MkdirTemp("", "layout")
		if err != nil {
			return nil, cleanup, err
		}
		cleanup = func() { os.RemoveAll(tmp) }
		if err := materialise(dir, tmp); err != nil {
			cleanup()
			return nil, func() {}, fmt.Errorf("read image layout %s: %w", dir, err)
		}
		dir = tmp
	}
	idx, err = layout.ImageIndexFromPath(dir)
	if err != nil {
		cleanup()
		return nil, func() {}, fmt.Errorf("read image layout %s: %w", dir, err)
	}
	return idx, cleanup, nil
}

func hasSymlinks(dir string) (bool, error) {
	found := false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 && p != dir {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found, err
}

// materialise recreates the tree at src in dst with every symlink resolved.
func materialise(src, dst string) error {
	root, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return err
		}
		info, err := os.Stat(real)
		if err != nil {
			return err
		}
		if info.IsDir() {
			if p != root && d.Type()&fs.ModeSymlink != 0 {
				return materialise(real, out)
			}
			return os.MkdirAll(out, 0o755)
		}
		if err := os.Link(real, out); err == nil {
			return nil
		}
		return copyFile(real, out)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
