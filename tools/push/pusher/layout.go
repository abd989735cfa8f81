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

// OpenLayout reads the OCI image layout in dir and returns the image index
// it holds: when index.json lists exactly one descriptor and it is an image
// index (the form rococo images, `crane pull --format=oci` and rules_oci
// write), that index; otherwise the index.json itself (a layout that lists
// its images directly). Bazel hands layouts to actions, tests and `bazel
// run` as trees of symlinks; such a layout is first materialised (see
// Materialise). The caller must call cleanup once done with the index.
func OpenLayout(dir string) (idx v1.ImageIndex, cleanup func(), err error) {
	dir, cleanup, err = Materialise(dir)
	if err != nil {
		return nil, cleanup, fmt.Errorf("read image layout %s: %w", dir, err)
	}
	top, err := layout.ImageIndexFromPath(dir)
	if err == nil {
		idx, err = unwrap(top)
	}
	if err != nil {
		cleanup()
		return nil, func() {}, fmt.Errorf("read image layout %s: %w", dir, err)
	}
	return idx, cleanup, nil
}

// Materialise returns a directory holding the tree at dir without
// symbolic links, which go-containerregistry's layout reader (and so
// crane) refuses for blobs: dir itself, resolved, when nothing inside it
// is a link, else a temporary copy (hard links where possible). The caller
// must call cleanup once done with it.
func Materialise(dir string) (real string, cleanup func(), err error) {
	cleanup = func() {}
	if resolved, err := filepath.EvalSymlinks(dir); err == nil {
		dir = resolved
	}
	links, err := hasSymlinks(dir)
	if err != nil {
		return dir, cleanup, err
	}
	if !links {
		return dir, cleanup, nil
	}
	tmp, err := os.MkdirTemp("", "layout")
	if err != nil {
		return dir, cleanup, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	if err := materialise(dir, tmp); err != nil {
		cleanup()
		return dir, func() {}, err
	}
	return tmp, cleanup, nil
}

// unwrap returns the one image index top lists, or top itself.
func unwrap(top v1.ImageIndex) (v1.ImageIndex, error) {
	im, err := top.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(im.Manifests) == 1 && im.Manifests[0].MediaType.IsIndex() {
		return top.ImageIndex(im.Manifests[0].Digest)
	}
	return top, nil
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
