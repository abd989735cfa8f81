package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/rococo-go/rococo/tools/push/pusher"
)

func writeLayout(t *testing.T) (string, v1.Hash) {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	// The form rococo images have: index.json holds the index's descriptor.
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx); err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return dir, d
}

func startRegistry(t *testing.T) string {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func digestOf(t *testing.T, ref string) (v1.Hash, error) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r)
	if err != nil {
		return v1.Hash{}, err
	}
	return desc.Digest, nil
}

func TestRunOverridesDefaults(t *testing.T) {
	reg := startRegistry(t)
	dir, d := writeLayout(t)
	tests := []struct {
		name    string
		args    []string
		present []string
		absent  []string
	}{
		{"defaults", []string{"--default-repository", reg + "/a/svc", "--default-tag", "latest", "--default-tag", "1.0"},
			[]string{reg + "/a/svc:latest", reg + "/a/svc:1.0"}, nil},
		{"overrides", []string{"--default-repository", reg + "/b/svc", "--default-tag", "latest", "--repository", reg + "/c/svc", "--tag", "pr-7"},
			[]string{reg + "/c/svc:pr-7"}, []string{reg + "/b/svc:latest", reg + "/c/svc:latest"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"--layout", dir}, tc.args...)
			if code := run(context.Background(), args, &out, &errb, pusher.Options{}); code != 0 {
				t.Fatalf("run() = %d: %s", code, errb.String())
			}
			if !strings.Contains(out.String(), "@"+d.String()) {
				t.Errorf("output %q does not name the digest %s", out.String(), d)
			}
			for _, ref := range tc.present {
				if got, err := digestOf(t, ref); err != nil || got != d {
					t.Errorf("%s = %v, %v; want %s", ref, got, err, d)
				}
			}
			for _, ref := range tc.absent {
				if _, err := digestOf(t, ref); err == nil {
					t.Errorf("%s exists, want it absent", ref)
				}
			}
		})
	}
}

func TestRunAll(t *testing.T) {
	reg := startRegistry(t)
	dirA, dA := writeLayout(t)
	dirB, dB := writeLayout(t)
	var out, errb bytes.Buffer
	args := []string{"--all", "--image", "alpha=" + dirA, "--image", "beta=" + dirB,
		"--default-repository-prefix", "example.invalid/x", "--repository-prefix", reg + "/team", "--default-tag", "latest", "--jobs", "2"}
	if code := run(context.Background(), args, &out, &errb, pusher.Options{}); code != 0 {
		t.Fatalf("run(--all) = %d: %s", code, errb.String())
	}
	for ref, want := range map[string]v1.Hash{reg + "/team/alpha:latest": dA, reg + "/team/beta:latest": dB} {
		if got, err := digestOf(t, ref); err != nil || got != want {
			t.Errorf("%s = %v, %v; want %s", ref, got, err, want)
		}
	}
	if !strings.Contains(out.String(), "pushed 2 of 2 images to "+reg+"/team") {
		t.Errorf("output = %q, want a summary line", out.String())
	}
}

func TestRunFailures(t *testing.T) {
	reg := startRegistry(t)
	dir, _ := writeLayout(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no repository", []string{"--layout", dir}, 2, "--repository"},
		{"no layout", []string{"--repository", reg + "/svc"}, 2, "--layout"},
		{"stray argument", []string{"--layout", dir, "--repository", reg + "/svc", "extra"}, 2, "unexpected arguments"},
		{"missing layout", []string{"--layout", filepath.Join(t.TempDir(), "none"), "--repository", reg + "/svc"}, 1, "push: FAILED: read image layout"},
		{"tag in repository", []string{"--layout", dir, "--repository", reg + "/svc:v1"}, 1, "must not contain a tag"},
		{"all without prefix", []string{"--all", "--image", "a=" + dir}, 2, "--repository-prefix"},
		{"all bad image", []string{"--all", "--repository-prefix", reg, "--image", "nodir"}, 2, "want NAME=DIR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errb, pusher.Options{}); code != tc.code || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("run(%q) = %d, %q; want %d and a message containing %q", tc.args, code, errb.String(), tc.code, tc.want)
			}
		})
	}
}

func writeText(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file.txt")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunTagsFromFilesAndStamps: tags and the repository come from files as
// the rule writes them; {KEY} placeholders are filled from the workspace
// status with --stamp and left out (with a note) without.
func TestRunTagsFromFilesAndStamps(t *testing.T) {
	reg := startRegistry(t)
	dir, d := writeLayout(t)
	tagsFile := writeText(t, "# tags of svc\nlatest\n\n  git-{STABLE_GIT_COMMIT}  \n")
	repoFile := writeText(t, reg+"/files/svc\n")
	stable := writeText(t, "STABLE_GIT_COMMIT 0123abc\nSTABLE_GIT_TREE_STATE clean\n")
	tests := []struct {
		name    string
		args    []string
		present []string
		absent  []string
		note    string
	}{
		{"unstamped", []string{"--default-repository-file", repoFile, "--default-tags-file", tagsFile},
			[]string{reg + "/files/svc:latest"}, []string{reg + "/files/svc:git-0123abc"}, `tag "git-{STABLE_GIT_COMMIT}" left out`},
		{"stamped", []string{"--default-repository-file", repoFile, "--default-tags-file", tagsFile, "--stamp-file", stable},
			[]string{reg + "/stamped/svc:latest", reg + "/stamped/svc:git-0123abc"}, nil, ""},
		{"command line wins", []string{"--default-repository-file", repoFile, "--default-tags-file", tagsFile, "--stamp-file", stable,
			"--repository", reg + "/cli/svc", "--tag", "pr-{STABLE_GIT_COMMIT}"},
			[]string{reg + "/cli/svc:pr-0123abc"}, []string{reg + "/cli/svc:latest"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--layout", dir}, tc.args...)
			if tc.name == "stamped" {
				args = append(args, "--default-repository", reg+"/stamped/svc")
			}
			var out, errb bytes.Buffer
			if code := run(context.Background(), args, &out, &errb, pusher.Options{}); code != 0 {
				t.Fatalf("run() = %d: %s", code, errb.String())
			}
			for _, ref := range tc.present {
				if got, err := digestOf(t, ref); err != nil || got != d {
					t.Errorf("%s = %v, %v; want %s", ref, got, err, d)
				}
			}
			for _, ref := range tc.absent {
				if _, err := digestOf(t, ref); err == nil {
					t.Errorf("%s exists, want it absent", ref)
				}
			}
			if tc.note != "" && !strings.Contains(errb.String(), tc.note) {
				t.Errorf("stderr = %q, want a note containing %q", errb.String(), tc.note)
			}
		})
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--layout", dir, "--repository", reg + "/{STABLE_GIT_COMMIT}/svc"}, &out, &errb, pusher.Options{})
	if code != 2 || !strings.Contains(errb.String(), "has a placeholder without a value") {
		t.Errorf("run(unfilled repository placeholder) = %d, %q; want 2 and a message", code, errb.String())
	}
	code = run(context.Background(), []string{"--layout", dir, "--default-repository-file", writeText(t, "a\nb\n")}, &out, &errb, pusher.Options{})
	if code != 1 || !strings.Contains(errb.String(), "want one line REGISTRY/PATH") {
		t.Errorf("run(two-line repository file) = %d, %q; want 1 and a message", code, errb.String())
	}
}
