package service

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// MaxNameLen is the longest service name.
const MaxNameLen = 50

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Reserved are the names a service cannot have because rococo_service
// (rules/private/service.bzl) creates targets so named in the service's
// package (besides <name> and <name>_*), or because services/<name>/lib is
// the service's lib package: a service named lib builds //services/lib:lib,
// the file services/lib/lib, where the lib package's outputs need a
// directory. Every name ending in _test is refused as well (TestSuffix):
// check_test, layout_test, image_test and k8s_test are targets of the
// service's package. This is the one list: rococo new refuses these names
// and rococo check reports them; the rules do not check names.
var Reserved = []string{"env_check", "image", "k8s", "lib", "load", "push"}

// TestSuffix ends the names of the tests rococo_service creates.
const TestSuffix = "_test"

// NameProblem returns what is wrong with a service name, and a fix, or ""
// for a valid name.
func NameProblem(name string) (problem, fix string) {
	switch {
	case name == "":
		return "missing service name", "give the name of a directory under services/"
	case !validName.MatchString(name) || len(name) > MaxNameLen:
		return fmt.Sprintf("invalid service name %q: want lower-case letters, digits and _, starting with a letter, at most %d characters (it names a directory, a Go package path and a Bazel target)", name, MaxNameLen),
			fmt.Sprintf("for example %q", Suggest(name))
	case strings.HasSuffix(name, TestSuffix):
		return fmt.Sprintf("invalid service name %q: rococo_service names the service's tests *%s (check_test, layout_test, image_test, k8s_test), and a service so named would clash with them", name, TestSuffix),
			fmt.Sprintf("drop the %s suffix, for example %q", TestSuffix, Suggest(name))
	case slices.Contains(Reserved, name):
		return fmt.Sprintf("invalid service name %q: rococo_service creates a target of that name in every service's package (reserved: %s, and names ending in %s)", name, strings.Join(Reserved, ", "), TestSuffix),
			fmt.Sprintf("for example %q", Suggest(name))
	}
	return "", ""
}

// Suggest turns a name into a valid one for an error message: lower case,
// other characters as _, at most MaxNameLen characters, not reserved.
func Suggest(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r >= 'A' && r <= 'Z':
			if i > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			b.WriteRune(r + 'a' - 'A')
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9' && b.Len() > 0:
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), "_")
	for strings.HasSuffix(s, TestSuffix) {
		s = strings.TrimSuffix(s, TestSuffix)
	}
	if s == "" {
		return "my_service"
	}
	if slices.Contains(Reserved, s) {
		s += "_service"
	}
	if len(s) > MaxNameLen {
		s = strings.TrimRight(s[:MaxNameLen], "_")
	}
	return s
}
