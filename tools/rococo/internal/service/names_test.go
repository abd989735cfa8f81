package service

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestNameProblem(t *testing.T) {
	tests := []struct {
		name, problem, fix string // prefixes; "" problem: valid
	}{
		{"orders", "", ""},
		{"images", "", ""},
		{"lib", `invalid service name "lib": rococo_service creates a target of that name`, `for example "lib_service"`},
		{"check_test", `invalid service name "check_test": rococo_service names the service's tests`, `drop the _test suffix, for example "check"`},
		{"Bad-Name", `invalid service name "Bad-Name": want lower-case letters`, `for example "bad_name"`},
		{strings.Repeat("ab", 26), "invalid service name", `for example "` + strings.Repeat("ab", 25) + `"`},
		{strings.Repeat("a", 49) + "_x", "invalid service name", `for example "` + strings.Repeat("a", 49) + `"`},
	}
	for _, tc := range tests {
		p, f := NameProblem(tc.name)
		if !strings.HasPrefix(p, tc.problem) || (tc.problem == "") != (p == "") || !strings.HasPrefix(f, tc.fix) {
			t.Errorf("NameProblem(%q) = %q, %q; want prefixes %q, %q", tc.name, p, f, tc.problem, tc.fix)
		}
		if p != "" {
			if s := Suggest(tc.name); s == tc.name {
				t.Errorf("Suggest(%q) = the same invalid name", tc.name)
			} else if p2, _ := NameProblem(s); p2 != "" {
				t.Errorf("Suggest(%q) = %q, invalid: %s", tc.name, s, p2)
			}
		}
	}
}

// TestReserved_covers_rococo_service: every literal target name the
// rococo_service macro creates (rules/private/service.bzl) is Reserved or
// ends in _test, so rococo new cannot write a service that clashes with
// one. Run by go test (Bazel's sandbox has no rules/ sources here).
func TestReserved_covers_rococo_service(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "rules", "private", "service.bzl"))
	if err != nil {
		t.Skipf("rules/private/service.bzl not readable (%v): run go test ./tools/rococo/...", err)
	}
	names := regexp.MustCompile(`\bname = "([^"]+)"`).FindAllSubmatch(b, -1)
	if len(names) < 5 {
		t.Fatalf("found only %d target names in service.bzl: the pattern is stale", len(names))
	}
	for _, m := range names {
		n := string(m[1])
		if strings.ContainsAny(n, ".") { // image.tar: never a valid service name
			continue
		}
		if !slices.Contains(Reserved, n) && !strings.HasSuffix(n, TestSuffix) {
			t.Errorf("rococo_service creates the target %q, which is not in Reserved (names.go)", n)
		}
		if p, _ := NameProblem(n); p == "" {
			t.Errorf("NameProblem(%q) accepts a target name of rococo_service", n)
		}
	}
}
