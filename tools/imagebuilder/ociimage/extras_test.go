package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type tarEntry struct {
	hdr  tar.Header
	data string
}

func writeTarFile(t *testing.T, gz bool, entries ...tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), "extra.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// extrasFixture adds every extra of the image attributes to the fixture:
// args, ports, annotations, two files and a gzip tar whose owners and modes
// need normalising.
func extrasFixture(t *testing.T) fixture {
	f := newFixture(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	mig := filepath.Join(dir, "001.sql")
	if err := os.WriteFile(cfg, []byte("greeting: hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mig, []byte("create table t (id int);\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tarFile := writeTarFile(t, true,
		tarEntry{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o700}},
		tarEntry{hdr: tar.Header{Name: "./srv/assets/", Typeflag: tar.TypeDir, Mode: 0o777, Uid: 1000, Gid: 1000, Uname: "dev"}},
		tarEntry{hdr: tar.Header{Name: "./srv/assets/logo.svg", Typeflag: tar.TypeReg, Mode: 0o666, Uid: 1000, Gid: 1000, Uname: "dev"}, data: "<svg/>"},
		tarEntry{hdr: tar.Header{Name: "srv/bin/tool", Typeflag: tar.TypeReg, Mode: 0o4750, Uid: 1000}, data: "#!/bin/true\n"},
		tarEntry{hdr: tar.Header{Name: "srv/bin/tool2", Typeflag: tar.TypeLink, Linkname: "srv/bin/tool"}},
		tarEntry{hdr: tar.Header{Name: "srv/current", Typeflag: tar.TypeSymlink, Linkname: "assets", Mode: 0o755}},
		tarEntry{hdr: tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o755}},
	)
	f.opts.Args = []string{"--once"}
	f.opts.ExposedPorts = []string{"8080", "9090/udp"}
	f.opts.Annotations = withKV(f.opts.Annotations, "com.example.team", "payments")
	f.opts.Files = []File{{Path: "/app/config.yaml", Source: cfg}, {Path: "/srv/migrations/001.sql", Source: mig}}
	f.opts.Tars = []string{tarFile}
	f.want.Args = f.opts.Args
	f.want.ExposedPorts = []string{"8080/tcp", "9090/udp"}
	f.want.Annotations = f.opts.Annotations
	f.want.Files = f.opts.Files
	f.want.Tars = f.opts.Tars
	return f
}

func TestBuildExtras(t *testing.T) {
	f := extrasFixture(t)
	idx := mustBuild(t, f.opts)
	if errs := Verify(idx, f.want); len(errs) > 0 {
		t.Fatalf("Verify() = %v", errs)
	}
	for _, d := range mustManifests(t, idx) {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		if !reflect.DeepEqual(cf.Config.Cmd, []string{"--once"}) {
			t.Errorf("%s: Cmd = %q, want [--once]", d.Platform, cf.Config.Cmd)
		}
		if _, ok := cf.Config.ExposedPorts["8080/tcp"]; !ok || len(cf.Config.ExposedPorts) != 2 {
			t.Errorf("%s: ExposedPorts = %v, want 8080/tcp and 9090/udp", d.Platform, cf.Config.ExposedPorts)
		}
		m, _ := img.Manifest()
		if m.Annotations["com.example.team"] != "payments" {
			t.Errorf("%s: manifest annotations = %v, want com.example.team", d.Platform, m.Annotations)
		}
		if len(m.Layers) != 4 {
			t.Errorf("%s: %d layers, want system, tar, files, app", d.Platform, len(m.Layers))
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
			link     string
		}{
			{"app/config.yaml", tar.TypeReg, FileMode, 0, 0, ""},
			{"srv/migrations/001.sql", tar.TypeReg, FileMode, 0, 0, ""},
			{"srv/migrations", tar.TypeDir, DirMode, 0, 0, ""},
			{"srv/assets", tar.TypeDir, DirMode, 0, 0, ""},
			{"srv/assets/logo.svg", tar.TypeReg, FileMode, 0, 0, ""},
			{"srv/bin/tool", tar.TypeReg, ExecMode, 0, 0, ""},
			{"srv/bin/tool2", tar.TypeReg, ExecMode, 0, 0, ""},
			{"srv/current", tar.TypeSymlink, LinkMode, 0, 0, "assets"},
			{"tmp", tar.TypeDir, 0o1777, 0, 0, ""},
			{"app/svc", tar.TypeReg, 0o755, 0, 0, ""},
		}
		for _, tc := range tests {
			fi, ok := files[tc.name]
			if !ok {
				t.Errorf("%s: /%s missing", d.Platform, tc.name)
				continue
			}
			h := fi.hdr
			if h.Typeflag != tc.typ || h.Mode != tc.mode || h.Uid != tc.uid || h.Gid != tc.gid || h.Linkname != tc.link || h.Uname != "" || !h.ModTime.Equal(Epoch) {
				t.Errorf("%s: /%s = type %q mode %o owner %d:%d (%q) link %q mtime %v, want type %q mode %o owner %d:%d link %q at the epoch",
					d.Platform, tc.name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Uname, h.Linkname, h.ModTime, tc.typ, tc.mode, tc.uid, tc.gid, tc.link)
			}
		}
		if got := string(files["srv/bin/tool2"].data); got != "#!/bin/true\n" {
			t.Errorf("hard link copy = %q", got)
		}
	}
	// The files and tar layers are the same blobs on both platforms.
	ms := mustManifests(t, idx)
	a, _ := idx.Image(ms[0].Digest)
	b, _ := idx.Image(ms[1].Digest)
	la, _ := a.Manifest()
	lb, _ := b.Manifest()
	if la.Layers[1].Digest != lb.Layers[1].Digest || la.Layers[2].Digest != lb.Layers[2].Digest {
		t.Error("extra layers differ between platforms, want one blob each")
	}
}

func TestVerifyReportsExtraMismatches(t *testing.T) {
	f := extrasFixture(t)
	idx := mustBuild(t, f.opts)
	changed := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(changed, []byte("greeting: bye\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(e *Expectation)
		want   string
	}{
		{"args", func(e *Expectation) { e.Args = nil }, `cmd (the entrypoint's arguments) = ["--once"], want []`},
		{"port missing", func(e *Expectation) { e.ExposedPorts = append(e.ExposedPorts, "7000") }, "exposed port 7000/tcp is missing"},
		{"port extra", func(e *Expectation) { e.ExposedPorts = e.ExposedPorts[:1] }, "unexpected exposed port 9090/udp"},
		{"annotation", func(e *Expectation) { e.Annotations = withKV(e.Annotations, "com.example.team", "x") }, `index annotation com.example.team = "payments", want "x"`},
		{"manifest annotation", func(e *Expectation) { e.Annotations = without(e.Annotations, "com.example.team") }, `unexpected manifest annotation com.example.team="payments"`},
		{"file content", func(e *Expectation) { e.Files = []File{{Path: "/app/config.yaml", Source: changed}} }, "extra file /app/config.yaml: 16 bytes differ from its source (14 bytes)"},
		{"file missing", func(e *Expectation) { e.Files = []File{{Path: "/app/other.yaml", Source: changed}} }, "extra content /app/other.yaml is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := f.want
			tc.change(&want)
			var msgs []string
			for _, e := range Verify(idx, want) {
				msgs = append(msgs, e.Error())
			}
			if joined := strings.Join(msgs, "\n"); !strings.Contains(joined, tc.want) {
				t.Errorf("Verify() = %q, want a message containing %q", joined, tc.want)
			}
		})
	}
}

func TestBuildRejectsBadExtras(t *testing.T) {
	bad := writeTarFile(t, false, tarEntry{hdr: tar.Header{Name: "../etc/passwd", Typeflag: tar.TypeReg}, data: "x"})
	dev := writeTarFile(t, false, tarEntry{hdr: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar}})
	dangling := writeTarFile(t, false, tarEntry{hdr: tar.Header{Name: "a", Typeflag: tar.TypeLink, Linkname: "b"}})
	tests := []struct {
		name   string
		change func(o *Options)
		want   string
	}{
		{"relative file path", func(o *Options) { o.Files = []File{{Path: "app/x", Source: "/dev/null"}} }, `extra file path "app/x": want an absolute, clean path`},
		{"unclean file path", func(o *Options) { o.Files = []File{{Path: "/app/../x", Source: "/dev/null"}} }, "want an absolute, clean path"},
		{"file over the binary", func(o *Options) { o.Files = []File{{Path: "/app/svc", Source: "/dev/null"}} }, "would replace the service binary"},
		{"file twice", func(o *Options) {
			o.Files = []File{{Path: "/a", Source: "/dev/null"}, {Path: "/a", Source: "/dev/null"}}
		}, "extra file /a is given twice"},
		{"missing file", func(o *Options) { o.Files = []File{{Path: "/a", Source: "/nonexistent"}} }, "read extra file for /a"},
		{"bad port", func(o *Options) { o.ExposedPorts = []string{"80/http"} }, `exposed port "80/http": protocol "http" is not tcp, udp or sctp`},
		{"port range", func(o *Options) { o.ExposedPorts = []string{"70000"} }, `exposed port "70000": want PORT[/PROTO]`},
		{"tar escapes", func(o *Options) { o.Tars = []string{bad} }, `entry "../etc/passwd" leaves the root`},
		{"tar device", func(o *Options) { o.Tars = []string{dev} }, "only files, directories and links can go into an image"},
		{"tar dangling hard link", func(o *Options) { o.Tars = []string{dangling} }, "which is no earlier regular file"},
		{"missing tar", func(o *Options) { o.Tars = []string{"/nonexistent.tar"} }, "open tar"},
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

// TestWriteLayoutForm: index.json holds one descriptor, the image index,
// as crane push DIR and rules_oci's oci_push need; the form index.json had
// before (the platform manifests listed directly) is reported.
func TestWriteLayoutForm(t *testing.T) {
	f := newFixture(t)
	idx := mustBuild(t, f.opts)
	dir := filepath.Join(t.TempDir(), "layout")
	if err := WriteLayout(dir, idx); err != nil {
		t.Fatal(err)
	}
	if err := CheckLayoutForm(dir); err != nil {
		t.Errorf("CheckLayoutForm(WriteLayout) = %v", err)
	}
	var top v1.IndexManifest
	data, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	if len(top.Manifests) != 1 || top.Manifests[0].Digest != d || !top.Manifests[0].MediaType.IsIndex() {
		t.Errorf("index.json = %s, want one descriptor of index %s", data, d)
	}
	flat := filepath.Join(t.TempDir(), "flat")
	if _, err := layout.Write(flat, idx); err != nil {
		t.Fatal(err)
	}
	if err := CheckLayoutForm(flat); err == nil || !strings.Contains(err.Error(), "index.json lists 2 descriptors, want 1") {
		t.Errorf("CheckLayoutForm(platforms listed directly) = %v, want the 2-descriptor error", err)
	}
	if err := WriteLayout(dir, idx); err == nil {
		t.Error("WriteLayout(non-empty dir) = nil, want an error")
	}
}

func TestWritePlatformLayout(t *testing.T) {
	f := newFixture(t)
	idx := mustBuild(t, f.opts)
	dir := filepath.Join(t.TempDir(), "amd64")
	arm := v1.Platform{OS: "linux", Architecture: "arm64"}
	if err := WritePlatformLayout(dir, idx, arm); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, _ := p.ImageIndex()
	im, _ := top.IndexManifest()
	want := mustManifests(t, idx)[1]
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != want.Digest || !im.Manifests[0].MediaType.IsImage() ||
		im.Manifests[0].Platform == nil || im.Manifests[0].Platform.Architecture != "arm64" {
		t.Errorf("platform layout index.json = %+v, want one arm64 image %s", im.Manifests, want.Digest)
	}
	if err := WritePlatformLayout(filepath.Join(t.TempDir(), "x"), idx, v1.Platform{OS: "linux", Architecture: "s390x"}); err == nil {
		t.Error("WritePlatformLayout(s390x) = nil, want an error for a platform the index lacks")
	}
}

func TestDockerTarTags(t *testing.T) {
	f := newFixture(t)
	idx := mustBuild(t, f.opts)
	p := filepath.Join(t.TempDir(), "image.tar")
	tags := []string{"registry.example.com/team/svc:1.0.0", "svc", "localhost:5000/svc:dev"}
	if err := WriteDockerTar(p, idx, v1.Platform{OS: "linux", Architecture: "amd64"}, tags); err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(p) })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"registry.example.com/team/svc:1.0.0", "svc:latest", "localhost:5000/svc:dev"}
	if len(m) != 1 || !reflect.DeepEqual(m[0].RepoTags, want) {
		t.Errorf("manifest.json = %+v, want one image with RepoTags %q", m, want)
	}
	if err := WriteDockerTar(p, idx, v1.Platform{OS: "linux", Architecture: "amd64"}, nil); err == nil {
		t.Error("WriteDockerTar(no tags) = nil, want an error")
	}
	if err := WriteDockerTar(p, idx, v1.Platform{OS: "linux", Architecture: "amd64"}, []string{"Bad Tag"}); err == nil {
		t.Error("WriteDockerTar(bad tag) = nil, want an error")
	}
}
