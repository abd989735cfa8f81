package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		env        []string
		wantCode   int
		wantStderr string
	}{
		{"valid", []string{"EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=P", "CRON_EXPRESSIONS=0 3 * * *"}, 0, ""},
		{"a date that never comes", []string{"EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=P", "CRON_EXPRESSIONS=0 0 30 2 *"}, 1, `//services/x:x: the service would exit at start with: invalid CRON_EXPRESSIONS="0 0 30 2 *"`},
		{"not KEY=VALUE", []string{"NOPE"}, 2, `--env "NOPE" is not KEY=VALUE`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "ok.txt")
			args := []string{"--label", "//services/x:x", "--package", "services/x", "--out", out}
			for _, kv := range tc.env {
				args = append(args, "--env", kv)
			}
			var stderr bytes.Buffer
			if code := run(args, &stderr); code != tc.wantCode {
				t.Errorf("exit status %d, want %d; stderr %q", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tc.wantStderr)
			}
			if _, err := os.Stat(out); (err == nil) != (tc.wantCode == 0) {
				t.Errorf("--out written: %v, want %v", err == nil, tc.wantCode == 0)
			}
		})
	}
	var stderr bytes.Buffer
	if code := run(nil, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage: servicecheck") {
		t.Errorf("no arguments: status %d, stderr %q", code, stderr.String())
	}
}
