package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeWorkspace is a directory with what rococo looks for: MODULE.bazel,
// go.mod and services/.
func fakeWorkspace(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()
	for name, content := range map[string]string{"MODULE.bazel": "module(name = \"x\")\n", "go.mod": "module example.com/shop\n\ngo 1.24\n"} {
		if err := os.WriteFile(filepath.Join(ws, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(ws, "services"), 0o755); err != nil {
		t.Fatal(err)
	}
	return ws
}

func TestRun_new(t *testing.T) {
	ws := fakeWorkspace(t)
	env := func(k string) string {
		if k == "BUILD_WORKSPACE_DIRECTORY" {
			return ws
		}
		return ""
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring
		wantStderr string // substring
	}{
		{"messaging", []string{"new", "orders", "--type", "messaging"}, 0, "wrote services/orders/processor.go\nnext: bazel test //services/orders/...", ""},
		{"flags first", []string{"new", "--type=cron", "nightly"}, 0, "wrote services/nightly/lib/job.go", ""},
		{"sqs", []string{"new", "reports", "--type", "messaging", "--transport", "sqs"}, 0, "wrote services/reports/BUILD.bazel", ""},
		{"band", []string{"new", "geo", "--type", "band"}, 0, "wrote services/geo/lib/greet.go", ""},
		{"existing", []string{"new", "orders", "--type", "messaging"}, 1, "", "rococo new: services/orders already exists"},
		{"invalid name", []string{"new", "Orders", "--type", "messaging"}, 2, "", `rococo new: invalid service name "Orders"`},
		{"no name", []string{"new", "--type", "cron"}, 2, "", "rococo new: missing service name"},
		{"no type", []string{"new", "x1"}, 2, "", `rococo new: missing --type: want messaging, cron or band. Fix: rococo new x1 --type messaging`},
		{"reserved name", []string{"new", "lib", "--type", "cron"}, 2, "", `rococo new: invalid service name "lib": rococo_service creates a target of that name in every service's package (reserved: env_check, image, k8s, lib, load, push, and names ending in _test). Fix: for example "lib_service"`},
		{"target name", []string{"new", "env_check", "--type", "cron"}, 2, "", `rococo new: invalid service name "env_check"`},
		{"too long", []string{"new", strings.Repeat("x", 51), "--type", "cron"}, 2, "", `Fix: for example "` + strings.Repeat("x", 50) + `"` + "\n"},
		{"new -h", []string{"new", "-h"}, 0, "", "usage: rococo new <name>"},
		{"dev -h", []string{"dev", "-h"}, 0, "", "usage: rococo dev <service>"},
		{"send -h", []string{"send", "-h"}, 0, "usage: rococo send <service>", ""},
		{"--help", []string{"--help"}, 0, "usage: rococo <command>", ""},
		{"dev bad name", []string{"dev", "Bad-Name"}, 2, "", `rococo dev: invalid service name "Bad-Name": want lower-case letters, digits and _, starting with a letter, at most 50 characters (it names a directory, a Go package path and a Bazel target). Fix: give the name of a directory under services/: one of`},
		{"dev unknown", []string{"dev", "nosuch"}, 2, "", `rococo dev: no service nosuch: services/nosuch/BUILD.bazel does not exist. Fix: rococo new nosuch --type ..., or pick one of`},
		{"send bad name", []string{"send", "Bad-Name", "{}"}, 2, "", `rococo send: invalid service name "Bad-Name"`},
		{"send unknown", []string{"send", "nosuch", "{}"}, 2, "", `rococo send: no service nosuch: services/nosuch/BUILD.bazel does not exist. Fix:`},
		{"two names", []string{"new", "a", "b", "--type", "cron"}, 2, "", `unexpected arguments ["b"]`},
		{"unknown flag", []string{"new", "a", "--kind", "cron"}, 2, "", "flag provided but not defined: -kind"},
		{"no command", nil, 2, "", "usage: rococo <command>"},
		{"unknown command", []string{"deploy"}, 2, "", `rococo: unknown command "deploy"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, env, strings.NewReader(""), &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantStdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, stderr.String())
			}
		})
	}
	b, err := os.ReadFile(filepath.Join(ws, "services", "orders", "BUILD.bazel"))
	if err != nil || !strings.Contains(string(b), `importpath = "example.com/shop/services/orders"`) {
		t.Errorf("services/orders/BUILD.bazel lacks the workspace's module path (err %v):\n%s", err, b)
	}
}

func TestWorkspace_from_working_directory(t *testing.T) {
	ws := fakeWorkspace(t)
	sub := filepath.Join(ws, "services")
	t.Chdir(sub)
	got, err := workspace(func(string) string { return "" })
	if err != nil || got != ws {
		t.Errorf("workspace() from %s = %q, %v; want %q", sub, got, err, ws)
	}
	t.Chdir(t.TempDir())
	if _, err := workspace(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "is not in a Rococo workspace") {
		t.Errorf("workspace() outside one: %v", err)
	}
}
