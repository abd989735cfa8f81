package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rococo-go/rococo/tools/k8s/manifest"
)

func write(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGenerateAndVerify(t *testing.T) {
	dir := t.TempDir()
	spec, _ := json.Marshal(manifest.Spec{Service: "//services/svc:svc", Name: "svc", Version: "1.0.0",
		Env: map[string]string{"EXECUTION_TYPE": "MESSAGING", "MESSAGING_TYPE": "SqsConnection", "PROCESSOR_TYPE": "P"}})
	specPath := write(t, dir, "spec.json", string(spec))
	digest := "sha256:" + strings.Repeat("ab", 32)
	digestPath := write(t, dir, "image.digest", digest+"\n")
	repoFile := write(t, dir, "repo.txt", "ghcr.io/acme/{STABLE_TEAM}/svc\n")
	stable := write(t, dir, "stable-status.txt", "STABLE_TEAM payments\n")
	out := filepath.Join(dir, "k8s.yaml")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"generate", "--spec", specPath, "--digest-file", digestPath, "--repository-file", repoFile, "--stamp-file", stable, "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("generate = %d: %s", code, stderr.String())
	}
	data, _ := os.ReadFile(out)
	if !strings.Contains(string(data), "image: ghcr.io/acme/payments/svc@"+digest) {
		t.Errorf("manifests do not pin the stamped repository:\n%s", data)
	}
	resolved := write(t, dir, "resolved.txt", "ghcr.io/acme/payments/svc\n")
	if code := run([]string{"verify", "--manifests", out, "--spec", specPath, "--digest-file", digestPath, "--repository-file", resolved}, &stdout, &stderr); code != 0 {
		t.Fatalf("verify = %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "decode strictly") {
		t.Errorf("verify output = %q", stdout.String())
	}
	other := write(t, dir, "other.digest", "sha256:"+strings.Repeat("cd", 32))
	stderr.Reset()
	if code := run([]string{"verify", "--manifests", out, "--spec", specPath, "--digest-file", other, "--repository-file", resolved}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "pinned by the image index digest") {
		t.Errorf("verify with another digest = %d, %q; want 1 and the image problem", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"generate", "--spec", specPath, "--digest-file", digestPath, "--repository-file", repoFile, "--out", out}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "build with --stamp") {
		t.Errorf("generate with an unstamped placeholder = %d, %q", code, stderr.String())
	}
	for _, args := range [][]string{{}, {"nope"}, {"generate"}, {"verify", "--manifests", out}} {
		stderr.Reset()
		if code := run(args, &stdout, &stderr); code == 0 || stderr.Len() == 0 {
			t.Errorf("run(%q) = %d, %q; want a failure with a message", args, code, stderr.String())
		}
	}
}
