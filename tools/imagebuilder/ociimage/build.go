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

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
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
	// Labels go into every image config.
	Labels map[string]string
	// Annotations go on the image index and on every platform's manifest.
	Annotations map[string]string
	// Args are the default arguments of the entrypoint (the config's Cmd);
	// none by default.
	Args []string
	// ExposedPorts are the ports the config declares, as "8080/tcp",
	// "53/udp" or "8080" (TCP).
	ExposedPorts []string
	// Files are extra files, all in one layer shared by every platform,
	// owned by root with fixed modes (see File).
	Files []File
	// Tars are tar files (plain or gzip-compressed) whose entries become
	// one layer each, normalised as NormaliseTar says.
	Tars []string
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
	for _, p := range o.ExposedPorts {
		if _, err := normalisePort(p); err != nil {
			return err
		}
	}
	entry := "/" + path.Join(AppDir, o.Name)
	seenFiles := map[string]bool{}
	for _, f := range o.Files {
		if err := f.validate(); err != nil {
			return err
		}
		if f.Path == entry {
			return fmt.Errorf("extra file %s would replace the service binary; put it elsewhere", f.Path)
		}
		if seenFiles[f.Path] {
			return fmt.Errorf("extra file %s is given twice", f.Path)
		}
		seenFiles[f.Path] = true
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

	extras, err := extraLayers(o)
	if err != nil {
		return nil, err
	}

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	for _, b := range o.Binaries {
		img, err := platformImage(o, b, sysLayer, extras, created)
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
	if len(o.Annotations) > 0 {
		idx = mutate.Annotations(idx, o.Annotations).(v1.ImageIndex)
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

func platformImage(o Options, b Binary, sysLayer v1.Layer, extras []extraLayer, created time.Time) (v1.Image, error) {
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
	for _, e := range extras {
		adds = append(adds, mutate.Addendum{Layer: e.layer, History: hist(e.what), MediaType: types.OCILayer})
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
	if len(o.Args) > 0 {
		cf.Config.Cmd = append([]string(nil), o.Args...)
	}
	if len(o.ExposedPorts) > 0 {
		ports := map[string]struct{}{}
		for k, v := range cf.Config.ExposedPorts {
			ports[k] = v
		}
		for _, p := range o.ExposedPorts {
			n, _ := normalisePort(p) // checked in validate
			ports[n] = struct{}{}
		}
		cf.Config.ExposedPorts = ports
	}
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
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	if len(o.Annotations) > 0 {
		img = mutate.Annotations(img, o.Annotations).(v1.Image)
	}
	return img, nil
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
