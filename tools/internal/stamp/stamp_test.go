package stamp

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadAndSubstitute(t *testing.T) {
	dir := t.TempDir()
	stable := filepath.Join(dir, "stable-status.txt")
	volatile := filepath.Join(dir, "volatile-status.txt")
	if err := os.WriteFile(stable, []byte("STABLE_GIT_COMMIT abc123\nSTABLE_GIT_DESCRIBE v1.2.0-3-gabc123 dirty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(volatile, []byte("BUILD_TIMESTAMP 1764064800\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := Read(stable, volatile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"latest", "latest", true},
		{"{STABLE_GIT_COMMIT}", "abc123", true},
		{"git-{STABLE_GIT_COMMIT}-{BUILD_TIMESTAMP}", "git-abc123-1764064800", true},
		{"{STABLE_GIT_DESCRIBE}", "v1.2.0-3-gabc123 dirty", true},
		{"{NOT_THERE}", "", false},
		{"{STABLE_GIT_COMMIT}-{NOT_THERE}", "abc123-", false},
		{"{not a key}", "{not a key}", true},
	}
	for _, tc := range tests {
		got, ok := v.Substitute(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Substitute(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if HasPlaceholder(tc.in) == (tc.in == tc.want) {
			t.Errorf("HasPlaceholder(%q) = %v", tc.in, HasPlaceholder(tc.in))
		}
	}
	if _, err := Read(filepath.Join(dir, "missing")); err == nil {
		t.Error("Read(missing file) = nil error, want one")
	}
}
