package scaffold

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestRender_golden compares every file of each service type with
// testdata/<case>/<file>.golden (go test -update rewrites them).
func TestRender_golden(t *testing.T) {
	cases := []Spec{
		{Name: "order_events", Type: "messaging", Transport: "rabbitmq"},
		{Name: "order_events", Type: "messaging", Transport: "sqs"},
		{Name: "nightly_sync", Type: "cron"},
		{Name: "greeter", Type: "band"},
	}
	for _, s := range cases {
		s.Module = "github.com/rococo-go/rococo"
		dir := filepath.Join("testdata", strings.TrimSuffix(s.Type+"_"+s.Transport, "_"))
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
			files, err := Render(s)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				for name, b := range files {
					p := filepath.Join(dir, name+".golden")
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			var golden []string
			err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					golden = append(golden, strings.TrimSuffix(filepath.ToSlash(rel), ".golden"))
				}
				return err
			})
			if err != nil {
				t.Fatalf("read golden files (go test -update writes them): %v", err)
			}
			var got []string
			for name := range files {
				got = append(got, name)
			}
			slices.Sort(got)
			slices.Sort(golden)
			if !slices.Equal(got, golden) {
				t.Fatalf("files = %q, golden %q", got, golden)
			}
			for _, name := range got {
				want, err := os.ReadFile(filepath.Join(dir, name+".golden"))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(files[name], want) {
					t.Errorf("%s differs from %s.golden (go test -update rewrites it):\n%s", name, name, files[name])
				}
			}
		})
	}
}

func TestSpec_Check(t *testing.T) {
	tests := []struct {
		spec          Spec
		wantErr       string // substring; "" means valid
		wantTransport string
	}{
		{Spec{Name: "orders", Type: "messaging"}, "", "rabbitmq"},
		{Spec{Name: "orders2", Type: "messaging", Transport: "sqs"}, "", "sqs"},
		{Spec{Name: "sync", Type: "cron"}, "", ""},
		{Spec{Name: "geo", Type: "band"}, "", ""},
		{Spec{Type: "cron"}, "missing service name. Fix: rococo new <name>", ""},
		{Spec{Name: "OrderEvents", Type: "cron"}, `invalid service name "OrderEvents": want lower-case letters, digits and _, starting with a letter, at most 50 characters (it names a directory, a Go package path and a Bazel target). Fix: for example "order_events"`, ""},
		{Spec{Name: "order-events", Type: "cron"}, `Fix: for example "order_events"`, ""},
		{Spec{Name: "../etc", Type: "cron"}, `invalid service name "../etc"`, ""},
		{Spec{Name: "9lives", Type: "cron"}, `invalid service name "9lives"`, ""},
		{Spec{Name: strings.Repeat("a", 51), Type: "cron"}, `at most 50 characters (it names a directory, a Go package path and a Bazel target). Fix: for example "` + strings.Repeat("a", 50) + `"`, ""},
		{Spec{Name: strings.Repeat("a", 50), Type: "cron"}, "", ""},
		{Spec{Name: "x_test", Type: "cron"}, `invalid service name "x_test": rococo_service names the service's tests *_test (check_test, layout_test, image_test, k8s_test), and a service so named would clash with them. Fix: drop the _test suffix, for example "x"`, ""},
		{Spec{Name: "check_test", Type: "cron"}, `invalid service name "check_test": rococo_service names the service's tests`, ""},
		{Spec{Name: "layout_test", Type: "cron"}, `invalid service name "layout_test": rococo_service names the service's tests`, ""},
		{Spec{Name: "lib", Type: "cron"}, `invalid service name "lib": rococo_service creates a target of that name in every service's package (reserved: env_check, image, k8s, lib, load, push, and names ending in _test). Fix: for example "lib_service"`, ""},
		{Spec{Name: "image", Type: "band"}, `invalid service name "image": rococo_service creates a target`, ""},
		{Spec{Name: "push", Type: "band"}, `invalid service name "push"`, ""},
		{Spec{Name: "k8s", Type: "band"}, `invalid service name "k8s"`, ""},
		{Spec{Name: "load", Type: "band"}, `invalid service name "load"`, ""},
		{Spec{Name: "env_check", Type: "band"}, `invalid service name "env_check"`, ""},
		{Spec{Name: "Image", Type: "band"}, `Fix: for example "image_service"`, ""},
		{Spec{Name: "images", Type: "band"}, "", ""},
		{Spec{Name: "x", Type: ""}, `missing --type: want messaging, cron or band. Fix: rococo new x --type messaging`, ""},
		{Spec{Name: "x", Type: "batch"}, `invalid --type "batch"`, ""},
		{Spec{Name: "x", Type: "messaging", Transport: "kafka"}, `invalid --transport "kafka": want one of rabbitmq, sqs`, ""},
		{Spec{Name: "x", Type: "cron", Transport: "sqs"}, `--transport sqs is set for a cron service`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.spec.Name+"_"+tc.spec.Type, func(t *testing.T) {
			s := tc.spec
			err := s.Check()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Check(%+v) = %v, want nil", tc.spec, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Check(%+v) = %v, want an error containing %q", tc.spec, err, tc.wantErr)
			case tc.wantErr == "" && s.Transport != tc.wantTransport:
				t.Errorf("Check(%+v): transport %q, want %q", tc.spec, s.Transport, tc.wantTransport)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	ws := t.TempDir()
	if err := os.Mkdir(filepath.Join(ws, "services"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := Spec{Name: "orders", Type: "messaging", Module: "example.com/m"}
	written, err := Write(ws, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"BUILD.bazel", "README.md", "lib/BUILD.bazel", "lib/handler.go", "lib/handler_test.go", "processor.go"}
	for i, w := range want {
		want[i] = filepath.Join("services", "orders", filepath.FromSlash(w))
	}
	if !slices.Equal(written, want) {
		t.Errorf("written = %q, want %q", written, want)
	}
	b, err := os.ReadFile(filepath.Join(ws, "services", "orders", "processor.go"))
	if err != nil || !bytes.Contains(b, []byte(`"example.com/m/services/orders/lib"`)) {
		t.Errorf("processor.go does not import the workspace module's lib (err %v):\n%s", err, b)
	}

	// A second time: refused, nothing overwritten.
	if err := os.WriteFile(filepath.Join(ws, "services", "orders", "processor.go"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(ws, s); err == nil || err.Error() != "services/orders already exists: rococo new writes new services only. Fix: pick another name, or remove services/orders first" {
		t.Errorf("Write over an existing service: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "services", "orders", "processor.go")); string(b) != "mine" {
		t.Errorf("processor.go overwritten: %q", b)
	}

	if _, err := Write(ws, Spec{Name: "Bad", Type: "cron"}); err == nil || !strings.Contains(err.Error(), `invalid service name "Bad"`) {
		t.Errorf("Write with an invalid name: %v", err)
	}
	if _, err := Write(t.TempDir(), Spec{Name: "x", Type: "cron"}); err == nil || !strings.Contains(err.Error(), "has no services/ directory") {
		t.Errorf("Write outside a workspace: %v", err)
	}
}
