package rococotest

import (
	"fmt"
	"net"
	"testing"
)

// recordingTB captures Skipf and Fatalf instead of ending the test.
type recordingTB struct {
	testing.TB
	skipped, fatal string
}

func (r *recordingTB) Helper()                           {}
func (r *recordingTB) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recordingTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestRequireBroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := ln.Addr().String()
	// A closed listener's port refuses connections.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln2.Addr().String()
	ln2.Close()
	defer ln.Close()

	tests := []struct {
		name, addr, ci      string
		wantSkip, wantFatal bool
	}{
		{"reachable", up, "true", false, false},
		{"missing on laptop skips", down, "", true, false},
		{"missing on CI fails", down, "true", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recordingTB{TB: t}
			RequireBroker(r, tc.addr)
			if (r.skipped != "") != tc.wantSkip || (r.fatal != "") != tc.wantFatal {
				t.Errorf("RequireBroker(%s) skipped=%q fatal=%q, want skip=%v fatal=%v", tc.addr, r.skipped, r.fatal, tc.wantSkip, tc.wantFatal)
			}
		})
	}
}
