package main

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/rococo-go/rococo/tools/imagebuilder/ociimage"
	"github.com/rococo-go/rococo/tools/push/pusher"
)

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeJSON(t *testing.T, dir, name string, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, data)
}

// zoneZip holds one zone with an empty body: enough for the builder, which
// copies zones without parsing them.
func zoneZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.Create("Etc/UTC"); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBuildStampsLabels(t *testing.T) {
	dir := t.TempDir()
	specPath := writeJSON(t, dir, "spec.json", spec{
		Name: "svc",
		Env:  map[string]string{"EXECUTION_TYPE": "CRON"},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "svc",
			"org.opencontainers.image.revision": "{STABLE_GIT_COMMIT}",
		},
		Annotations: map[string]string{
			"org.opencontainers.image.title":    "svc",
			"org.opencontainers.image.revision": "{STABLE_GIT_COMMIT}",
		},
		Created: "{BUILD_TIMESTAMP}",
	})
	bin := writeFile(t, dir, "bin", []byte("not an elf"))
	tz := writeFile(t, dir, "zoneinfo.zip", zoneZip(t))
	tests := []struct {
		name        string
		stamps      string
		wantCreated time.Time
		wantLabels  map[string]string
	}{
		{"unstamped", "", ociimage.Epoch, map[string]string{"org.opencontainers.image.title": "svc", "org.opencontainers.image.created": "1970-01-01T00:00:00Z"}},
		{"stamped", "STABLE_GIT_COMMIT abc123\nBUILD_TIMESTAMP 1764064800\n",
			time.Unix(1764064800, 0).UTC(),
			map[string]string{
				"org.opencontainers.image.title":    "svc",
				"org.opencontainers.image.revision": "abc123",
				"org.opencontainers.image.created":  "2025-11-25T10:00:00Z",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "layout")
			args := []string{"build", "--spec", specPath, "--binary", "linux/amd64=" + bin, "--tzdata", tz, "--layout", out,
				"--digest-file", filepath.Join(t.TempDir(), "digest")}
			if tc.stamps != "" {
				args = append(args, "--stamp-file", writeFile(t, t.TempDir(), "status.txt", []byte(tc.stamps)))
			}
			var stderr bytes.Buffer
			if code := run(args, &stderr, &stderr); code != 0 {
				t.Fatalf("run(build) = %d: %s", code, stderr.String())
			}
			idx, cleanup, err := pusher.OpenLayout(out)
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			im, _ := idx.IndexManifest()
			for k, v := range tc.wantLabels {
				if im.Annotations[k] != v {
					t.Errorf("index annotation %s = %q, want %q", k, im.Annotations[k], v)
				}
			}
			img, err := idx.Image(im.Manifests[0].Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, _ := img.ConfigFile()
			if !cf.Created.Equal(tc.wantCreated) {
				t.Errorf("Created = %v, want %v", cf.Created, tc.wantCreated)
			}
			if len(cf.Config.Labels) != len(tc.wantLabels) {
				t.Errorf("Labels = %v, want %v", cf.Config.Labels, tc.wantLabels)
			}
			for k, v := range tc.wantLabels {
				if cf.Config.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, cf.Config.Labels[k], v)
				}
			}
		})
	}
}

func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	specPath := writeJSON(t, dir, "spec.json", spec{Name: "svc", Env: map[string]string{"A": "1"}})
	bin := writeFile(t, dir, "bin", []byte("not an elf"))
	tz := writeFile(t, dir, "zoneinfo.zip", zoneZip(t))
	out := filepath.Join(dir, "layout")
	var stderr bytes.Buffer
	if code := run([]string{"build", "--spec", specPath, "--binary", "linux/amd64=" + bin, "--tzdata", tz, "--layout", out}, &stderr, &stderr); code != 0 {
		t.Fatalf("run(build) = %d: %s", code, stderr.String())
	}
	expect := writeJSON(t, dir, "expect.json", ociimage.Expectation{Service: "//services/svc", Name: "svc", Platforms: []string{"linux/amd64"}, Env: map[string]string{"A": "2"}})
	stderr.Reset()
	if code := run([]string{"verify", "--layout", out, "--expect", expect}, &stderr, &stderr); code != 1 {
		t.Fatalf("run(verify) = %d, want 1", code)
	}
	for _, want := range []string{`service //services/svc: linux/amd64: env A = "1", want "2"`, "is not an ELF binary", "problem(s) in the image of service //services/svc"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("verify output = %q, want it to contain %q", stderr.String(), want)
		}
	}
	var stdout bytes.Buffer
	if code := run([]string{"inspect", "--layout", out}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "linux/amd64") {
		t.Errorf("run(inspect) = %d, %q", code, stdout.String())
	}
}

// elfHeader is a minimal ELF64 header for machine, with no program headers:
// what the image check reads (architecture, static linking).
func elfHeader(t *testing.T, machine elf.Machine) []byte {
	t.Helper()
	h := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT), Ehsize: 64}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, h); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestVerifyRoundtrip(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dir := t.TempDir()
	env := map[string]string{"EXECUTION_TYPE": "MESSAGING", "MESSAGING_TYPE": "SqsConnection"}
	specPath := writeJSON(t, dir, "spec.json", spec{Name: "svc", Env: env})
	amd := writeFile(t, dir, "amd", elfHeader(t, elf.EM_X86_64))
	arm := writeFile(t, dir, "arm", elfHeader(t, elf.EM_AARCH64))
	tz := writeFile(t, dir, "zoneinfo.zip", zoneZip(t))
	out := filepath.Join(dir, "layout")
	var stderr bytes.Buffer
	if code := run([]string{"build", "--spec", specPath, "--binary", "linux/amd64=" + amd, "--binary", "linux/arm64=" + arm, "--tzdata", tz, "--layout", out}, &stderr, &stderr); code != 0 {
		t.Fatalf("run(build) = %d: %s", code, stderr.String())
	}
	expect := writeJSON(t, dir, "expect.json", ociimage.Expectation{Service: "//services/svc", Name: "svc", Platforms: []string{"linux/amd64", "linux/arm64"}, Env: env})
	var stdout bytes.Buffer
	stderr.Reset()
	if code := run([]string{"verify", "--layout", out, "--expect", expect, "--roundtrip"}, &stdout, &stderr); code != 0 {
		t.Fatalf("run(verify --roundtrip) = %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "crane pushed the layout directory to 127.0.0.1:") || !strings.Contains(stdout.String(), "pulled it back with the same digest") {
		t.Errorf("verify output = %q, want the round trip reported", stdout.String())
	}
}

func TestBuildRejectsBadFlags(t *testing.T) {
	tests := [][]string{
		{},
		{"frobnicate"},
		{"build"},
		{"build", "--spec", "/nonexistent.json", "--layout", "x", "--binary", "linux/amd64=b"},
		{"verify"},
	}
	for _, args := range tests {
		var stderr bytes.Buffer
		if code := run(args, &stderr, &stderr); code == 0 || stderr.Len() == 0 {
			t.Errorf("run(%q) = %d with output %q, want non-zero and a message", args, code, stderr.String())
		}
	}
}

func TestParseCreated(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", ociimage.Epoch, true},
		{"1764064800", time.Unix(1764064800, 0).UTC(), true},
		{"2025-11-25T10:00:00Z", time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC), true},
		{"yesterday", time.Time{}, false},
	}
	for _, tc := range tests {
		got, err := parseCreated(tc.in)
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseCreated(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// buildTwoPlatforms builds a layout of service svc for amd64 and arm64 and
// returns its directory and the dir holding the inputs.
func buildTwoPlatforms(t *testing.T, sp spec, extra ...string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	specPath := writeJSON(t, dir, "spec.json", sp)
	amd := writeFile(t, dir, "amd", elfHeader(t, elf.EM_X86_64))
	arm := writeFile(t, dir, "arm", elfHeader(t, elf.EM_AARCH64))
	out := filepath.Join(dir, "layout")
	args := append([]string{"build", "--spec", specPath, "--binary", "linux/amd64=" + amd, "--binary", "linux/arm64=" + arm, "--layout", out,
		"--digest-file", filepath.Join(dir, "digest")}, extra...)
	if len(extra) == 0 {
		args = append(args, "--tzdata", writeFile(t, dir, "zoneinfo.zip", zoneZip(t)))
	}
	var stderr bytes.Buffer
	if code := run(args, &stderr, &stderr); code != 0 {
		t.Fatalf("run(build) = %d: %s", code, stderr.String())
	}
	return out, dir
}

func TestTarAndPlatformCommands(t *testing.T) {
	out, dir := buildTwoPlatforms(t, spec{Name: "svc", Env: map[string]string{"A": "1"}})
	tarPath := filepath.Join(dir, "image.tar")
	var stderr bytes.Buffer
	if code := run([]string{"tar", "--layout", out, "--platform", "linux/arm64", "--tag", "example.com/svc:v1", "--tag", "svc:dev", "--out", tarPath}, &stderr, &stderr); code != 0 {
		t.Fatalf("run(tar) = %d: %s", code, stderr.String())
	}
	img, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cf, _ := img.ConfigFile(); cf.Architecture != "arm64" {
		t.Errorf("tar image architecture = %s, want arm64", cf.Architecture)
	}
	plat := filepath.Join(dir, "amd64")
	if code := run([]string{"platform", "--layout", out, "--platform", "linux/amd64", "--out", plat}, &stderr, &stderr); code != 0 {
		t.Fatalf("run(platform) = %d: %s", code, stderr.String())
	}
	// crane push of the single-platform layout pushes the image itself.
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/svc:amd64"
	if _, err := crane(context.Background(), "push", plat, ref); err != nil {
		t.Fatal(err)
	}
	got, err := crane(context.Background(), "config", ref)
	if err != nil || !strings.Contains(got, `"architecture":"amd64"`) {
		t.Errorf("crane config of the pushed platform layout = %q, %v; want an amd64 image config", got, err)
	}
	for _, args := range [][]string{
		{"tar", "--layout", out, "--platform", "linux/amd64", "--out", tarPath},
		{"tar", "--layout", out, "--platform", "linux/s390x", "--tag", "svc:x", "--out", tarPath},
		{"platform", "--layout", out, "--out", plat},
	} {
		stderr.Reset()
		if code := run(args, &stderr, &stderr); code == 0 || stderr.Len() == 0 {
			t.Errorf("run(%q) = %d, %q; want a failure with a message", args, code, stderr.String())
		}
	}
}

func TestVerifyChecksDigestFile(t *testing.T) {
	out, dir := buildTwoPlatforms(t, spec{Name: "svc"})
	expect := writeJSON(t, dir, "expect.json", ociimage.Expectation{Service: "//services/svc", Name: "svc", Platforms: []string{"linux/amd64", "linux/arm64"}})
	wrong := writeFile(t, dir, "wrong", []byte("sha256:"+strings.Repeat("0", 64)+"\n"))
	var stdout, stderr bytes.Buffer
	if code := run([]string{"verify", "--layout", out, "--expect", expect, "--digest-file", filepath.Join(dir, "digest")}, &stdout, &stderr); code != 0 {
		t.Fatalf("run(verify) = %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"verify", "--layout", out, "--expect", expect, "--digest-file", wrong}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "digest file says sha256:000") {
		t.Errorf("run(verify, wrong digest) = %d, %q; want the mismatch reported", code, stderr.String())
	}
}

// TestCranePulledLayoutAsBase pulls an image with `crane pull --format=oci`
// (crane's own command) and builds on the layout it wrote, as a user with
// a crane-pulled (or rules_oci oci_pull-ed) base image would.
func TestCranePulledLayoutAsBase(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	base, _ := buildTwoPlatforms(t, spec{Name: "base", Env: map[string]string{"PATH": "/usr/bin", "FROM_BASE": "yes"}})
	ctx := context.Background()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/base:1"
	if _, err := crane(ctx, "push", base, ref); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, platform string
		platforms      []string
	}{
		{"whole index", "", []string{"linux/amd64", "linux/arm64"}},
		{"one platform", "linux/arm64", []string{"linux/arm64"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pulled := filepath.Join(t.TempDir(), "pulled")
			args := []string{"pull", "--format=oci", ref, pulled}
			if tc.platform != "" {
				args = append([]string{"--platform", tc.platform}, args...)
			}
			if _, err := crane(ctx, args...); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			specPath := writeJSON(t, dir, "spec.json", spec{Name: "svc", Env: map[string]string{"EXECUTION_TYPE": "CRON"}})
			out := filepath.Join(dir, "layout")
			build := []string{"build", "--spec", specPath, "--base", pulled, "--layout", out}
			for _, p := range tc.platforms {
				build = append(build, "--binary", p+"="+writeFile(t, dir, strings.ReplaceAll(p, "/", "_"), elfHeader(t, map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}[p])))
			}
			var stderr bytes.Buffer
			if code := run(build, &stderr, &stderr); code != 0 {
				t.Fatalf("run(build --base crane-pulled) = %d: %s", code, stderr.String())
			}
			expect := writeJSON(t, dir, "expect.json", ociimage.Expectation{Service: "//services/svc", Name: "svc", Platforms: tc.platforms,
				Env: map[string]string{"PATH": "/usr/bin", "FROM_BASE": "yes", "EXECUTION_TYPE": "CRON"}})
			var stdout bytes.Buffer
			if code := run([]string{"verify", "--layout", out, "--expect", expect, "--roundtrip"}, &stdout, &stderr); code != 0 {
				t.Fatalf("run(verify) = %d: %s", code, stderr.String())
			}
		})
	}
}
