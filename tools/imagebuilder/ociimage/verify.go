package ociimage

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Expectation is what a service image must hold. The rococo_service rule
// writes it as JSON from the service's attributes.
type Expectation struct {
	// Service names the service in messages.
	Service string `json:"service"`
	// Name is the binary name under /app.
	Name string `json:"name"`
	// Platforms lists the platforms the index must hold, in order.
	Platforms []string `json:"platforms"`
	// Env is the baked environment. From scratch it must match exactly;
	// on a base image these entries must be present with these values.
	Env map[string]string `json:"env"`
	// Labels must be present with these values (exactly, from scratch).
	Labels map[string]string `json:"labels"`
	// Annotations must be on the index and on every platform's manifest
	// (exactly, from scratch).
	Annotations map[string]string `json:"annotations,omitempty"`
	// StampedLabels must be present with any non-empty value, as labels
	// and as annotations: those whose values come from build stamping
	// (commit, time).
	StampedLabels []string `json:"stamped_labels,omitempty"`
	// OptionalLabels may be present with any value, as labels and as
	// annotations (a stamped git commit exists only where the workspace
	// status found one).
	OptionalLabels []string `json:"optional_labels,omitempty"`
	// Args are the entrypoint's default arguments (the config's Cmd).
	Args []string `json:"args,omitempty"`
	// ExposedPorts are the config's exposed ports as PORT/PROTO (exactly,
	// from scratch).
	ExposedPorts []string `json:"exposed_ports,omitempty"`
	// Files are extra files: each must be in the image with the source's
	// bytes, owned by root, mode FileMode.
	Files []File `json:"files,omitempty"`
	// Tars are tar files whose entries must all be in the image, as
	// normalised by the build (later tars and Files win over earlier
	// ones).
	Tars []string `json:"tars,omitempty"`
	// Scratch reports that the image was built without a base, so the
	// system files are checked too.
	Scratch bool `json:"scratch"`
}

var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64,
	"arm64": elf.EM_AARCH64,
}

// Verify checks idx against want and returns one error per mismatch; none
// means the image is as expected. Each error names the service, the
// platform and the item.
func Verify(idx v1.ImageIndex, want Expectation) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("service %s: "+format, append([]any{want.Service}, args...)...))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		bad("read image index: %v", err)
		return errs
	}
	var got []string
	for _, d := range im.Manifests {
		if d.Platform == nil {
			bad("index entry %s has no platform", d.Digest)
			continue
		}
		got = append(got, d.Platform.String())
	}
	if !reflect.DeepEqual(got, want.Platforms) {
		bad("index platforms = %v, want %v", got, want.Platforms)
	}
	for _, e := range compareMap("index annotation", stampless(im.Annotations, want), want.Annotations, want.Scratch) {
		bad("%v", e)
	}
	extras, err := wantExtras(want)
	if err != nil {
		bad("%v", err)
		return errs
	}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			bad("%s: read image: %v", d.Platform, err)
			continue
		}
		for _, e := range verifyImage(img, *d.Platform, want, extras) {
			bad("%s: %v", d.Platform, e)
		}
	}
	return errs
}

// stampless returns m without the stamped and optional keys of want; a
// stamped key must have a value.
func stampless(m map[string]string, want Expectation) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for _, k := range want.OptionalLabels {
		delete(out, k)
	}
	for _, k := range want.StampedLabels {
		if out[k] == "" {
			out[k] = "<missing: build with --stamp (bazel build --config=release)>"
			continue
		}
		delete(out, k)
	}
	return out
}

func verifyImage(img v1.Image, p v1.Platform, want Expectation, extras map[string]entry) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	cf, err := img.ConfigFile()
	if err != nil {
		return []error{fmt.Errorf("read config: %w", err)}
	}
	if cf.OS != p.OS || cf.Architecture != p.Architecture {
		bad("config platform = %s/%s, want %s/%s", cf.OS, cf.Architecture, p.OS, p.Architecture)
	}
	entry := "/" + path.Join(AppDir, want.Name)
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{entry}) {
		bad("entrypoint = %q, want [%q]", cf.Config.Entrypoint, entry)
	}
	if !slices.Equal(cf.Config.Cmd, want.Args) {
		bad("cmd (the entrypoint's arguments) = %q, want %q", cf.Config.Cmd, want.Args)
	}
	var wantPorts []string
	for _, p := range want.ExposedPorts {
		n, err := normalisePort(p)
		if err != nil {
			bad("%v", err)
		}
		wantPorts = append(wantPorts, n)
	}
	for _, p := range wantPorts {
		if _, ok := cf.Config.ExposedPorts[p]; !ok {
			bad("exposed port %s is missing (exposed: %v)", p, slices.Sorted(maps.Keys(cf.Config.ExposedPorts)))
		}
	}
	if want.Scratch {
		for p := range cf.Config.ExposedPorts {
			if !slices.Contains(wantPorts, p) {
				bad("unexpected exposed port %s", p)
			}
		}
	}
	if cf.Config.User != User {
		bad("user = %q, want %q", cf.Config.User, User)
	}
	if cf.Config.WorkingDir != "/"+AppDir {
		bad("working dir = %q, want %q", cf.Config.WorkingDir, "/"+AppDir)
	}
	env := map[string]string{}
	for _, kv := range cf.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	errs = append(errs, compareMap("env", env, want.Env, want.Scratch)...)
	errs = append(errs, compareMap("label", stampless(cf.Config.Labels, want), want.Labels, want.Scratch)...)
	m, err := img.Manifest()
	if err != nil {
		return append(errs, fmt.Errorf("read manifest: %w", err))
	}
	errs = append(errs, compareMap("manifest annotation", stampless(m.Annotations, want), want.Annotations, want.Scratch)...)

	files, err := readFiles(img)
	if err != nil {
		return append(errs, err)
	}
	bin, ok := files[strings.TrimPrefix(entry, "/")]
	switch {
	case !ok:
		bad("%s is missing", entry)
	default:
		if bin.hdr.Typeflag != tar.TypeReg || bin.hdr.Mode&0o777 != 0o755 || bin.hdr.Uid != 0 {
			bad("%s: type %q mode %o uid %d, want a regular file, mode 755, owned by root", entry, bin.hdr.Typeflag, bin.hdr.Mode, bin.hdr.Uid)
		}
		errs = append(errs, checkELF(entry, bin.data, p)...)
	}
	errs = append(errs, checkExtras(files, extras)...)
	if !want.Scratch {
		return errs
	}
	for name, f := range files {
		if !f.hdr.ModTime.Equal(Epoch) {
			bad("/%s: mtime %s, want %s", name, f.hdr.ModTime.UTC().Format(time.RFC3339), Epoch.Format(time.RFC3339))
		}
	}
	if f, ok := files["tmp"]; !ok || f.hdr.Typeflag != tar.TypeDir || f.hdr.Mode&0o7777 != 0o1777 {
		bad("/tmp must be a directory with mode 1777")
	}
	if f, ok := files["etc/passwd"]; !ok || !bytes.Contains(f.data, []byte(fmt.Sprintf("nonroot:x:%d:%d:", NonRootUID, NonRootGID))) {
		bad("/etc/passwd must define nonroot as %d:%d", NonRootUID, NonRootGID)
	}
	if f, ok := files["etc/group"]; !ok || !bytes.Contains(f.data, []byte(fmt.Sprintf("nonroot:x:%d:", NonRootGID))) {
		bad("/etc/group must define nonroot as %d", NonRootGID)
	}
	if f, ok := files[CABundlePath]; !ok || !x509.NewCertPool().AppendCertsFromPEM(f.data) {
		bad("/%s must hold PEM CA certificates", CABundlePath)
	}
	if f, ok := files[path.Join(ZoneInfoDir, "UTC")]; !ok {
		bad("/%s/UTC is missing", ZoneInfoDir)
	} else if _, err := time.LoadLocationFromTZData("UTC", f.data); err != nil {
		bad("/%s/UTC: %v", ZoneInfoDir, err)
	}
	return errs
}

func compareMap(what string, got, want map[string]string, exact bool) []error {
	var errs []error
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v, ok := got[k]; !ok {
			errs = append(errs, fmt.Errorf("%s %s is missing, want %q", what, k, want[k]))
		} else if v != want[k] {
			errs = append(errs, fmt.Errorf("%s %s = %q, want %q", what, k, v, want[k]))
		}
	}
	if exact {
		var extra []string
		for k := range got {
			if _, ok := want[k]; !ok {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		for _, k := range extra {
			errs = append(errs, fmt.Errorf("unexpected %s %s=%q", what, k, got[k]))
		}
	}
	return errs
}

func checkELF(name string, data []byte, p v1.Platform) []error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return []error{fmt.Errorf("%s is not an ELF binary: %v", name, err)}
	}
	defer f.Close()
	var errs []error
	if want, ok := elfMachines[p.Architecture]; ok && f.Machine != want {
		errs = append(errs, fmt.Errorf("%s is built for %s, want %s", name, f.Machine, want))
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			errs = append(errs, fmt.Errorf("%s is dynamically linked (it has an ELF interpreter); build it static and pure", name))
		}
	}
	return errs
}

type file struct {
	hdr  *tar.Header
	data []byte
}

// readFiles flattens img's layers and returns its files by name (no leading
// slash, no trailing slash on directories).
func readFiles(img v1.Image) (map[string]file, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read image files: %w", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("read image file %s: %w", hdr.Name, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(path.Clean("/"+hdr.Name), "/"), "/")
		files[name] = file{hdr: hdr, data: data}
	}
}

// wantExtras returns the entries the extra files and tars must have put
// into the image, by name, later ones winning as in the image's layers.
func wantExtras(want Expectation) (map[string]entry, error) {
	out := map[string]entry{}
	for _, t := range want.Tars {
		entries, err := readTar(t)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			out[e.name] = e
		}
	}
	for _, f := range want.Files {
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return nil, fmt.Errorf("read expected file for %s: %w", f.Path, err)
		}
		name := strings.TrimPrefix(f.Path, "/")
		out[name] = entry{name: name, mode: FileMode, data: data}
	}
	return out, nil
}

// checkExtras checks that each wanted entry is in files with its type,
// mode, owner and content.
func checkExtras(files map[string]file, want map[string]entry) []error {
	var errs []error
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w := want[n]
		f, ok := files[n]
		if !ok {
			errs = append(errs, fmt.Errorf("extra content /%s is missing", n))
			continue
		}
		h := f.hdr
		var typ byte = tar.TypeReg
		switch {
		case w.dir:
			typ = tar.TypeDir
		case w.link != "":
			typ = tar.TypeSymlink
		}
		if h.Typeflag != typ || h.Mode != w.mode || h.Uid != w.uid || h.Gid != w.gid || h.Linkname != w.link {
			errs = append(errs, fmt.Errorf("extra content /%s: type %q mode %o owner %d:%d link %q, want type %q mode %o owner %d:%d link %q",
				n, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname, typ, w.mode, w.uid, w.gid, w.link))
			continue
		}
		if typ == tar.TypeReg && !bytes.Equal(f.data, w.data) {
			errs = append(errs, fmt.Errorf("extra file /%s: %d bytes differ from its source (%d bytes)", n, len(f.data), len(w.data)))
		}
	}
	return errs
}
