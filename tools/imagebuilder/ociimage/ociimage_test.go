package ociimage

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/binary"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fakeELF returns a minimal, valid ELF64 header for machine: what
// debug/elf needs to read the machine and the (absent) program headers.
func fakeELF(machine elf.Machine, padding int) []byte {
	h := elf.Header64{
		Type:    uint16(elf.ET_EXEC),
		Machine: uint16(machine),
		Version: uint32(elf.EV_CURRENT),
		Ehsize:  64,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, h); err != nil {
		panic(err)
	}
	buf.Write(make([]byte, padding))
	return buf.Bytes()
}

// utcTZif is a version-1 TZif file for UTC: one zone type, offset 0, "UTC".
func utcTZif() []byte {
	var b bytes.Buffer
	b.WriteString("TZif")
	b.Write(make([]byte, 16))
	for _, n := range []uint32{0, 0, 0, 0, 1, 4} { // isut, isstd, leap, time, type, char counts
		_ = binary.Write(&b, binary.BigEndian, n)
	}
	b.Write([]byte{0, 0, 0, 0, 0, 0}) // utoff 0, isdst 0, abbr index 0
	b.WriteString("UTC\x00")
	return b.Bytes()
}

func zoneZip(t *testing.T, zones map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range zones {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type fixture struct {
	opts Options
	want Expectation
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	amd := filepath.Join(dir, "svc_amd64")
	arm := filepath.Join(dir, "svc_arm64")
	if err := os.WriteFile(amd, fakeELF(elf.EM_X86_64, 100), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(arm, fakeELF(elf.EM_AARCH64, 200), 0o755); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"EXECUTION_TYPE":  "CRON",
		"PROCESSOR_TYPE":  "CleanupProcessor",
		"CRON_TIME_UNIT":  "minutes",
		"WITH_EQUALS":     "a=b",
		"QUEUE_NAME_PREF": "",
	}
	labels := map[string]string{
		"org.opencontainers.image.title":   "svc",
		"org.opencontainers.image.version": "1.2.3",
		"org.opencontainers.image.created": "1970-01-01T00:00:00Z",
	}
	return fixture{
		opts: Options{
			Name: "svc",
			Binaries: []Binary{
				{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Path: amd},
				{Platform: v1.Platform{OS: "linux", Architecture: "arm64"}, Path: arm},
			},
			Env:         env,
			Labels:      labels,
			Annotations: labels,
			ZoneInfo:    zoneZip(t, map[string][]byte{"UTC": utcTZif(), "Europe/Berlin": utcTZif()}),
		},
		want: Expectation{
			Service:     "//services/svc",
			Name:        "svc",
			Platforms:   []string{"linux/amd64", "linux/arm64"},
			Env:         env,
			Labels:      labels,
			Annotations: labels,
			Scratch:     true,
		},
	}
}

func mustBuild(t *testing.T, o Options) v1.ImageIndex {
	t.Helper()
	idx, err := Build(o)
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	return idx
}

func TestBuildConfig(t *testing.T) {
	f := newFixture(t)
	idx := mustBuild(t, f.opts)
	if errs := Verify(idx, f.want); len(errs) > 0 {
		t.Fatalf("Verify() = %v", errs)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex {
		t.Errorf("index media type = %s, want %s", im.MediaType, types.OCIImageIndex)
	}
	if got := im.Annotations["org.opencontainers.image.version"]; got != "1.2.3" {
		t.Errorf("index annotation version = %q, want 1.2.3", got)
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		wantEnv := []string{"CRON_TIME_UNIT=minutes", "EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=CleanupProcessor", "QUEUE_NAME_PREF=", "WITH_EQUALS=a=b"}
		if !reflect.DeepEqual(cf.Config.Env, wantEnv) {
			t.Errorf("%s: Env = %q, want %q", d.Platform, cf.Config.Env, wantEnv)
		}
		if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/app/svc"}) {
			t.Errorf("%s: Entrypoint = %q", d.Platform, cf.Config.Entrypoint)
		}
		if cf.Config.User != "65532:65532" || cf.Config.WorkingDir != "/app" {
			t.Errorf("%s: User, WorkingDir = %q, %q; want 65532:65532, /app", d.Platform, cf.Config.User, cf.Config.WorkingDir)
		}
		if !cf.Created.Equal(Epoch) {
			t.Errorf("%s: Created = %v, want the epoch", d.Platform, cf.Created)
		}
		for i, h := range cf.History {
			if !h.Created.Equal(Epoch) {
				t.Errorf("%s: History[%d].Created = %v, want the epoch", d.Platform, i, h.Created)
			}
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 2 {
			t.Errorf("%s: manifest %s config %s with %d layers; want OCI types and 2 layers", d.Platform, m.MediaType, m.Config.MediaType, len(m.Layers))
		}
	}
}

func TestBuildStampedCreated(t *testing.T) {
	f := newFixture(t)
	f.opts.Created = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	idx := mustBuild(t, f.opts)
	img, err := idx.Image(mustManifests(t, idx)[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	if !cf.Created.Equal(f.opts.Created) {
		t.Errorf("Created = %v, want %v", cf.Created, f.opts.Created)
	}
	// File times stay fixed, so the layers are shared with unstamped builds.
	if errs := Verify(idx, f.want); len(errs) > 0 {
		t.Errorf("Verify() = %v", errs)
	}
}

func mustManifests(t *testing.T, idx v1.ImageIndex) []v1.Descriptor {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return im.Manifests
}

// TestReproducible builds the same inputs twice, writes both as layouts and
// docker tarballs, and requires identical bytes.
func TestReproducible(t *testing.T) {
	f := newFixture(t)
	var dirs, tars []string
	for i := 0; i < 2; i++ {
		dir := filepath.Join(t.TempDir(), "layout")
		tarPath := filepath.Join(t.TempDir(), "image.tar")
		idx := mustBuild(t, f.opts)
		if err := WriteLayout(dir, idx); err != nil {
			t.Fatal(err)
		}
		if err := WriteDockerTar(tarPath, idx, v1.Platform{OS: "linux", Architecture: "amd64"}, []string{"svc:latest", "example.com/svc:v1"}); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
		tars = append(tars, tarPath)
	}
	a, b := treeBytes(t, dirs[0]), treeBytes(t, dirs[1])
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Errorf("two builds wrote different layouts: %d vs %d files", len(a), len(b))
	}
	ta, _ := os.ReadFile(tars[0])
	tb, _ := os.ReadFile(tars[1])
	if len(ta) == 0 || !bytes.Equal(ta, tb) {
		t.Errorf("two builds wrote different docker tarballs (%d, %d bytes)", len(ta), len(tb))
	}
}

func treeBytes(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFilesModesOwners(t *testing.T) {
	f := newFixture(t)
	idx := mustBuild(t, f.opts)
	for _, d := range mustManifests(t, idx) {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		files, err := readFiles(img)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name     string
			typ      byte
			mode     int64
			uid, gid int
		}{
			{"app", tar.TypeDir, 0o755, 0, 0},
			{"app/svc", tar.TypeReg, 0o755, 0, 0},
			{"tmp", tar.TypeDir, 0o1777, 0, 0},
			{"etc/passwd", tar.TypeReg, 0o644, 0, 0},
			{"etc/group", tar.TypeReg, 0o644, 0, 0},
			{"etc/nsswitch.conf", tar.TypeReg, 0o644, 0, 0},
			{"etc/ssl/certs/ca-certificates.crt", tar.TypeReg, 0o644, 0, 0},
			{"usr/share/zoneinfo/UTC", tar.TypeReg, 0o644, 0, 0},
			{"usr/share/zoneinfo/Europe/Berlin", tar.TypeReg, 0o644, 0, 0},
			{"usr/share/zoneinfo/Europe", tar.TypeDir, 0o755, 0, 0},
			{"home/nonroot", tar.TypeDir, 0o700, 65532, 65532},
		}
		for _, tc := range tests {
			fi, ok := files[tc.name]
			if !ok {
				t.Errorf("%s: /%s missing", d.Platform, tc.name)
				continue
			}
			h := fi.hdr
			if h.Typeflag != tc.typ || h.Mode != tc.mode || h.Uid != tc.uid || h.Gid != tc.gid {
				t.Errorf("%s: /%s = type %q mode %o owner %d:%d, want type %q mode %o owner %d:%d",
					d.Platform, tc.name, h.Typeflag, h.Mode, h.Uid, h.Gid, tc.typ, tc.mode, tc.uid, tc.gid)
			}
			if !h.ModTime.Equal(Epoch) {
				t.Errorf("%s: /%s mtime = %v, want the epoch", d.Platform, tc.name, h.ModTime)
			}
		}
		if got := files["etc/passwd"].data; !bytes.Contains(got, []byte("nonroot:x:65532:65532:")) {
			t.Errorf("/etc/passwd = %q, want the nonroot user", got)
		}
	}
}

func TestVerifyReportsMismatches(t *testing.T) {
	f := newFixture(t)
	idx := mustBuild(t, f.opts)
	tests := []struct {
		name   string
		change func(e *Expectation)
		want   string
	}{
		{"env value", func(e *Expectation) { e.Env = withKV(e.Env, "EXECUTION_TYPE", "MESSAGING") }, `env EXECUTION_TYPE = "CRON", want "MESSAGING"`},
		{"env missing", func(e *Expectation) { e.Env = withKV(e.Env, "NEW", "x") }, "env NEW is missing"},
		{"env extra", func(e *Expectation) { e.Env = without(e.Env, "CRON_TIME_UNIT") }, `unexpected env CRON_TIME_UNIT="minutes"`},
		{"label", func(e *Expectation) { e.Labels = withKV(e.Labels, "org.opencontainers.image.version", "9") }, `label org.opencontainers.image.version = "1.2.3", want "9"`},
		{"entrypoint", func(e *Expectation) { e.Name = "other" }, `entrypoint = ["/app/svc"], want ["/app/other"]`},
		{"platforms", func(e *Expectation) { e.Platforms = []string{"linux/amd64"} }, "index platforms = [linux/amd64 linux/arm64], want [linux/amd64]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := f.want
			tc.change(&want)
			errs := Verify(idx, want)
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			joined := strings.Join(msgs, "\n")
			if !strings.Contains(joined, tc.want) || !strings.Contains(joined, "service //services/svc:") {
				t.Errorf("Verify() = %q, want a message naming the service and containing %q", joined, tc.want)
			}
		})
	}
}

func TestVerifyRejectsDynamicOrWrongArch(t *testing.T) {
	f := newFixture(t)
	// Swap the binaries: the amd64 image now holds an arm64 ELF.
	f.opts.Binaries[0].Path, f.opts.Binaries[1].Path = f.opts.Binaries[1].Path, f.opts.Binaries[0].Path
	errs := Verify(mustBuild(t, f.opts), f.want)
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "is built for EM_AARCH64, want EM_X86_64") {
		t.Errorf("Verify() = %v, want two wrong-architecture errors", errs)
	}
}

func withKV(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for kk, vv := range m {
		if kk != k {
			out[kk] = vv
		}
	}
	return out
}

func without(m map[string]string, k string) map[string]string {
	out := map[string]string{}
	for kk, vv := range m {
		if kk != k {
			out[kk] = vv
		}
	}
	return out
}

func TestZoneInfoFromGoSource(t *testing.T) {
	z := zoneZip(t, map[string][]byte{"UTC": utcTZif(), "America/New_York": utcTZif()})
	src := "// Code generated by go tool dist; DO NOT EDIT.\n\npackage tzdata\n\nconst zipdata = " + strconv.Quote(string(z)) + "\n"
	fromZip, err := ZoneInfoEntries(z)
	if err != nil {
		t.Fatal(err)
	}
	fromSrc, err := ZoneInfoEntries([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromZip, fromSrc) || len(fromZip) != 2 {
		t.Errorf("ZoneInfoEntries(Go source) = %d entries, ZoneInfoEntries(zip) = %d; want the same 2", len(fromSrc), len(fromZip))
	}
	for _, bad := range []string{"package x\n", "not go at all {", "package x\nconst zipdata = 42\n"} {
		if _, err := ZoneInfoEntries([]byte(bad)); err == nil {
			t.Errorf("ZoneInfoEntries(%q) = nil error, want one", bad)
		}
	}
}

func TestFallbackCABundle(t *testing.T) {
	pemData := FallbackCABundle()
	n := 0
	for rest := pemData; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Fatalf("certificate %d: %v", n, err)
		}
	}
	if n < 100 {
		t.Errorf("FallbackCABundle() holds %d certificates, want the NSS set (over 100)", n)
	}
	if !bytes.Equal(pemData, FallbackCABundle()) {
		t.Error("FallbackCABundle() differs between calls")
	}
}

func TestBuildOnBase(t *testing.T) {
	f := newFixture(t)
	baseDir := filepath.Join(t.TempDir(), "base")
	base := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		cf.Config.Env = []string{"PATH=/usr/bin", "EXECUTION_TYPE=MESSAGING"}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		base = mutate.AppendManifests(base, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	if _, err := layout.Write(baseDir, base); err != nil {
		t.Fatal(err)
	}
	baseIdx, err := layout.ImageIndexFromPath(baseDir)
	if err != nil {
		t.Fatal(err)
	}
	f.opts.Base = baseIdx
	f.opts.ZoneInfo = nil
	idx := mustBuild(t, f.opts)
	want := f.want
	want.Scratch = false
	if errs := Verify(idx, want); len(errs) > 0 {
		t.Fatalf("Verify() = %v", errs)
	}
	img, _ := idx.Image(mustManifests(t, idx)[0].Digest)
	cf, _ := img.ConfigFile()
	if cf.Config.Env[0] != "PATH=/usr/bin" || cf.Config.Env[1] != "EXECUTION_TYPE=CRON" {
		t.Errorf("Env = %q, want the base's PATH kept and EXECUTION_TYPE replaced in place", cf.Config.Env)
	}
	layers, _ := img.Layers()
	if len(layers) != 2 {
		t.Errorf("image on a base has %d layers, want the base's 1 plus the app layer", len(layers))
	}

	f.opts.Binaries = append(f.opts.Binaries, Binary{Platform: v1.Platform{OS: "linux", Architecture: "s390x"}, Path: f.opts.Binaries[0].Path})
	if _, err := Build(f.opts); err == nil || !strings.Contains(err.Error(), "base image has no linux/s390x image") {
		t.Errorf("Build() with a platform the base lacks = %v, want a clear error", err)
	}
}

func TestBuildRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name   string
		change func(o *Options)
		want   string
	}{
		{"name with slash", func(o *Options) { o.Name = "a/b" }, "invalid service name"},
		{"no binaries", func(o *Options) { o.Binaries = nil }, "no binaries"},
		{"duplicate platform", func(o *Options) { o.Binaries[1].Platform = o.Binaries[0].Platform }, "two binaries for platform linux/amd64"},
		{"bad env name", func(o *Options) { o.Env = map[string]string{"A=B": "c"} }, `invalid env name "A=B"`},
		{"no tzdata", func(o *Options) { o.ZoneInfo = nil }, "no time zone data"},
		{"missing binary", func(o *Options) { o.Binaries[0].Path = "/nonexistent/bin" }, "read binary"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.change(&f.opts)
			if _, err := Build(f.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestDockerTarLoads(t *testing.T) {
	f := newFixture(t)
	idx := mustBuild(t, f.opts)
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := WriteDockerTar(p, idx, v1.Platform{OS: "linux", Architecture: "arm64"}, []string{"example.com/svc:v1"}); err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		t.Fatalf("read back docker tar: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "arm64" || cf.Config.User != User {
		t.Errorf("docker tar image = %s user %q, want arm64 user %q", cf.Architecture, cf.Config.User, User)
	}
	if err := WriteDockerTar(p, idx, v1.Platform{OS: "linux", Architecture: "riscv64"}, []string{"svc:latest"}); err == nil {
		t.Error("WriteDockerTar(riscv64) = nil, want an error for a platform the index lacks")
	}
}
