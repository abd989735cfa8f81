package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// WriteLayout writes idx as an OCI image layout in dir, which must be empty
// or absent. The layout's index.json holds one descriptor, that of the image
// index, as `crane pull --format=oci` writes it and as `crane push DIR`,
// rules_oci's oci_push and anything else that reads `.manifests[0]`
// expect; the index's digest is the digest a registry reports after a push.
func WriteLayout(dir string, idx v1.ImageIndex) error {
	if err := emptyDir(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("write layout %s: %w", dir, err)
	}
	if err := p.AppendIndex(idx); err != nil {
		return fmt.Errorf("write layout %s: %w", dir, err)
	}
	return nil
}

// WritePlatformLayout writes the image of platform pl from idx as an OCI
// image layout in dir (empty or absent) whose index.json holds that one
// image's descriptor: the single-platform form rules_oci's oci_image(base)
// and oci_load (docker format) read.
func WritePlatformLayout(dir string, idx v1.ImageIndex, pl v1.Platform) error {
	if err := emptyDir(dir); err != nil {
		return err
	}
	img, err := baseImage(idx, pl)
	if err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("write layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithPlatform(pl)); err != nil {
		return fmt.Errorf("write layout %s: %w", dir, err)
	}
	return nil
}

func emptyDir(dir string) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("write layout: %s is not empty", dir)
	}
	return nil
}

// CheckLayoutForm reports whether the layout in dir has the form
// WriteLayout writes: index.json with exactly one descriptor, of an image
// index. It reads index.json itself, so it sees exactly what crane and
// rules_oci see.
func CheckLayoutForm(dir string) error {
	data, err := os.ReadFile(dir + "/index.json")
	if err != nil {
		return fmt.Errorf("read layout: %w", err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(data, &im); err != nil {
		return fmt.Errorf("parse %s/index.json: %w", dir, err)
	}
	if len(im.Manifests) != 1 {
		return fmt.Errorf("index.json lists %d descriptors, want 1 (the image index): `crane push DIR` and rules_oci's oci_push read .manifests[0]", len(im.Manifests))
	}
	if !im.Manifests[0].MediaType.IsIndex() {
		return fmt.Errorf("index.json's descriptor is a %s, want an image index", im.Manifests[0].MediaType)
	}
	return nil
}

// WriteDockerTar writes the image for platform p from idx to file out, in
// the tarball format `docker load` and `podman load` read, with the given
// tags (at least one, kept in this order). The bytes depend on the inputs
// alone.
func WriteDockerTar(out string, idx v1.ImageIndex, p v1.Platform, tags []string) error {
	if len(tags) == 0 {
		return errors.New("docker tar: want at least one tag")
	}
	var repoTags []string
	for _, t := range tags {
		ref, err := name.NewTag(t)
		if err != nil {
			return fmt.Errorf("docker tar tag %q: %w", t, err)
		}
		// Docker cannot load a tag without its :tag part written out.
		ts := ref.String()
		if !strings.HasSuffix(ts, ":"+ref.TagStr()) {
			ts += ":" + ref.TagStr()
		}
		repoTags = append(repoTags, ts)
	}
	img, err := baseImage(idx, p)
	if err != nil {
		return fmt.Errorf("docker tar: %w", err)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("write docker tar: %w", err)
	}
	if err := writeDockerTar(f, img, repoTags); err != nil {
		f.Close()
		return fmt.Errorf("write docker tar %s: %w", out, err)
	}
	return f.Close()
}

// writeDockerTar writes the docker-save form of img: the config blob, each
// compressed layer, then manifest.json, every entry with fixed metadata.
// (go-containerregistry's tarball.MultiRefWrite orders several tags of one
// image by map iteration, so its bytes vary between runs.)
func writeDockerTar(w io.Writer, img v1.Image, repoTags []string) error {
	tw := tar.NewWriter(w)
	put := func(name string, r io.Reader, size int64) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg, Size: size, ModTime: Epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if err := put(cfgName.String(), bytes.NewReader(cfg), int64(len(cfg))); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	var files []string
	seen := map[string]bool{}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		file := d.Hex + ".tar.gz"
		files = append(files, file)
		if seen[file] {
			continue
		}
		seen[file] = true
		size, err := l.Size()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		err = put(file, rc, size)
		rc.Close()
		if err != nil {
			return err
		}
	}
	manifest, err := json.Marshal([]struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{{Config: cfgName.String(), RepoTags: repoTags, Layers: files}})
	if err != nil {
		return err
	}
	if err := put("manifest.json", bytes.NewReader(manifest), int64(len(manifest))); err != nil {
		return err
	}
	return tw.Close()
}
