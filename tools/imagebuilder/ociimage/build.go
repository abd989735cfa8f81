package ociimage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Epoch is the time every file in an image carries, and the image's created
// time unless the build is stamped.
var Epoch = time.Unix(0, 0).UTC()

// User is the image config's user: the numeric nonroot user and group.
var User = fmt.Sprintf("%d:%d", NonRootUID, NonRootGID)

// Binary is one platform's service binary.
type Binary struct {
	// Platform is the binary's platform, such as linux/amd64.
	Platform v1.Platform
	// Path is the binary's file.
	Path string
}

// Options describe one service image.
type Options struct {
	// Name is the service name; the binary goes to /app/<Name> and is the
	// entrypoint. It must be a plain file name.
	Name string
	// Binaries holds one binary per platform; the index lists the
	// platforms in this order.
	Binaries []Binary
	// Env is baked into every image config (after the base image's env;
	// a key set here replaces the base's value).
	Env map[string]string
	// Labels go into every image config and the index annotations.
	Labels map[string]string
	// Created is the image's created time; zero means Epoch.
	Created time.Time
	// Base is a base image index; nil means scratch. From scratch, the
	// images also get the system layer (users, CA roots, time zones, /tmp);
	// on a base, only the application layer is added.
	Base v1.ImageIndex
	// CABundle is the PEM bundle written to /etc/ssl/certs; nil means
	// FallbackCABundle. Ignored with a Base.
	CABundle []byte
	// ZoneInfo is the time zone database (see ZoneInfoEntries); required
	// from scratch, ignored with a Base.
	ZoneInfo []byte
}

func (o *Options) validate() error {
	if o.Name == "" || strings.ContainsAny(o.Name, "/\\") || o.Name == "." || o.Name == ".." {
		return fmt.Errorf("invalid service name %q: want a plain file name", o.Name)
	}
	if len(o.Binaries) == 0 {
		return errors.New("no binaries: want at least one platform")
	}
	seen := map[string]bool{}
	for _, b := range o.Binaries {
		p := b.Platform.String()
		if b.Platform.OS == "" || b.Platform.Architecture == "" {
			return fmt.Errorf("binary %q: platform %q lacks an OS or architecture", b.Path, p)
		}
		if seen[p] {
			return fmt.Errorf("two binaries for platform %s", p)
		}
		seen[p] = true
	}
	for k := range o.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("invalid env name %q", k)
		}
	}
	if o.Base == nil && len(o.ZoneInfo) == 0 {
		return errors.New("no time zone data: a scratch image needs ZoneInfo")
	}
	return nil
}

// Build assembles the multi-platform image index described by o. The result
// is fully computed in memory; nothing is written.
func Build(o Options) (v1.ImageIndex, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	created := o.Created
	if created.IsZero() {
		created = Epoch
	}
	created = created.UTC()

	var sysLayer v1.Layer
	if o.Base == nil {
		zones, err := ZoneInfoEntries(o.ZoneInfo)
		if err != nil {
			return nil, err
		}
		ca := o.CABundle
		if ca == nil {
			ca = FallbackCABundle()
		}
		if sysLayer, err = layerOf(systemEntries(ca, zones)); err != nil {
			return nil, fmt.Errorf("system layer: %w", err)
		}
	}

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	for _, b := range o.Binaries {
		img, err := platformImage(o, b, sysLayer, created)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", b.Platform.String(), err)
		}
		p := b.Platform
		adds = append(adds, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	idx = mutate.AppendManifests(idx, adds...)
	if len(o.Labels) > 0 {
		idx = mutate.Annotations(idx, o.Labels).(v1.ImageIndex)
	}
	return idx, nil
}

func layerOf(entries []entry) (v1.Layer, error) {
	data, err := tarLayer(entries, Epoch)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

func platformImage(o Options, b Binary, sysLayer v1.Layer, created time.Time) (v1.Image, error) {
	bin, err := os.ReadFile(b.Path)
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	appLayer, err := layerOf([]entry{
		{name: AppDir, dir: true, mode: 0o755},
		{name: path.Join(AppDir, o.Name), mode: 0o755, data: bin},
	})
	if err != nil {
		return nil, fmt.Errorf("app layer: %w", err)
	}

	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if o.Base != nil {
		if base, err = baseImage(o.Base, b.Platform); err != nil {
			return nil, err
		}
	}
	hist := func(what string) v1.History {
		return v1.History{Created: v1.Time{Time: created}, CreatedBy: "rococo imagebuilder: " + what, Comment: "rococo_service " + o.Name}
	}
	var adds []mutate.Addendum
	if sysLayer != nil {
		adds = append(adds, mutate.Addendum{Layer: sysLayer, History: hist("system files (users, CA roots, time zones, /tmp)"), MediaType: types.OCILayer})
	}
	adds = append(adds, mutate.Addendum{Layer: appLayer, History: hist("/app/" + o.Name), MediaType: types.OCILayer})
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, fmt.Errorf("append layers: %w", err)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant, cf.OSVersion = b.Platform.OS, b.Platform.Architecture, b.Platform.Variant, b.Platform.OSVersion
	cf.Created = v1.Time{Time: created}
	cf.Author = ""
	cf.Config.Entrypoint = []string{"/" + path.Join(AppDir, o.Name)}
	cf.Config.Cmd = nil
	cf.Config.User = User
	cf.Config.WorkingDir = "/" + AppDir
	cf.Config.Env = mergeEnv(cf.Config.Env, o.Env)
	if len(o.Labels) > 0 {
		labels := map[string]string{}
		for k, v := range cf.Config.Labels {
			labels[k] = v
		}
		for k, v := range o.Labels {
			labels[k] = v
		}
		cf.Config.Labels = labels
	}
	return mutate.ConfigFile(img, cf)
}

// mergeEnv returns base's entries with values replaced from env, then env's
// remaining keys in sorted order.
func mergeEnv(base []string, env map[string]string) []string {
	out := make([]string, 0, len(base)+len(env))
	done := map[string]bool{}
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := env[k]; ok {
			kv = k + "=" + v
			done[k] = true
		}
		out = append(out, kv)
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		if !done[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// baseImage picks the image for p from a base index, descending into
// nested indexes (an OCI layout's index.json often points at one).
func baseImage(idx v1.ImageIndex, p v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read base index: %w", err)
	}
	var found []string
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("read nested base index %s: %w", d.Digest, err)
			}
			if img, err := baseImage(child, p); err == nil {
				return img, nil
			}
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("read base image %s: %w", d.Digest, err)
			}
			dp := d.Platform
			if dp == nil {
				cf, err := img.ConfigFile()
				if err != nil {
					return nil, fmt.Errorf("read base image config %s: %w", d.Digest, err)
				}
				dp = cf.Platform()
			}
			if dp != nil {
				found = append(found, dp.String())
				if dp.Satisfies(p) || (dp.OS == p.OS && dp.Architecture == p.Architecture) {
					return img, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("base image has no %s image (it has %v)", p.String(), found)
}

// WriteLayout writes idx as an OCI image layout in dir, which must be empty
// or absent. The layout's index.json is the image index itself, so its
// digest is the digest a registry reports after a push.
func WriteLayout(dir string, idx v1.ImageIndex) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("write layout: %s is not empty", dir)
	}
	if _, err := layout.Write(dir, idx); err != nil {
		return fmt.Errorf("write layout %s: %w", dir, err)
	}
	return nil
}

// WriteDockerTar writes the image for platform p from idx to file out, in
// the tarball format `docker load` and `podman load` read, tagged tag.
func WriteDockerTar(out string, idx v1.ImageIndex, p v1.Platform, tag string) error {
	t, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("docker tar tag %q: %w", tag, err)
	}
	img, err := baseImage(idx, p)
	if err != nil {
		return fmt.Errorf("docker tar: %w", err)
	}
	if err := tarball.WriteToFile(out, t, img); err != nil {
		return fmt.Errorf("write docker tar %s: %w", out, err)
	}
	return nil
}
