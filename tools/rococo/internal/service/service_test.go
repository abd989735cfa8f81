package service

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad_and_Environ(t *testing.T) {
	ws := t.TempDir()
	write(t, filepath.Join(ws, "services/orders/BUILD.bazel"), `
load("//rules:defs.bzl", "rococo_service")

rococo_service(
    name = "orders",
    embed = [":orders_lib"],
    env = {
        "OrdersProcessor_QUEUE_NAME": "orders",
        "RABBITMQ_HOST": "localhost",
        "A": "baked",
        "B": "baked",
        "C": "baked",
        "D": "baked",
        "E": "baked",
    },
    execution_type = "MESSAGING",
    messaging_type = "RabbitMqConnection",
    processor_type = "OrdersProcessor",
)
`)
	write(t, filepath.Join(ws, "services/nightly/BUILD.bazel"), `
rococo_service(
    name = "nightly",
    cron_expressions = ["0 3 * * *", " 15 4 * * sun"],
    cron_time_unit = "Minutes",
    cron_time_amount = 5,
    run_at_startup = True,
    execution_type = "CRON",
    processor_type = "NightlyProcessor",
)
`)
	write(t, filepath.Join(ws, ".env"), "A=ws.env\nB=ws.env\nC=ws.env\nD=ws.env\n")
	write(t, filepath.Join(ws, ".env.local"), "B=ws.env.local\nC=ws.env.local\nD=ws.env.local\n")
	write(t, filepath.Join(ws, "services/orders/.env"), "C=svc.env\nD=svc.env\n")
	write(t, filepath.Join(ws, "services/orders/.env.local"), "D=svc.env.local\n")

	s, err := Load(ws, "orders")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Environ(map[string]string{"A": "default", "F": "default"}, []string{"E=shell"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=ws.env", "B=ws.env.local", "C=svc.env", "D=svc.env.local", "E=shell", "EXECUTION_TYPE=MESSAGING", "F=default", "MESSAGING_TYPE=RabbitMqConnection", "OrdersProcessor_QUEUE_NAME=orders", "PROCESSOR_TYPE=OrdersProcessor", "RABBITMQ_HOST=localhost"}
	if !slices.Equal(got, want) {
		t.Errorf("Environ =\n%q\nwant\n%q", got, want)
	}

	n, err := Load(ws, "nightly")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"CRON_EXPRESSIONS": "0 3 * * *,15 4 * * sun", "CRON_TIME_UNIT": "minutes", "CRON_TIME_AMOUNT": "5", "RUN_AT_STARTUP": "true", "EXECUTION_TYPE": "CRON"} {
		if n.Baked[k] != v {
			t.Errorf("nightly baked %s = %q, want %q", k, n.Baked[k], v)
		}
	}
}

func TestLoad_errors(t *testing.T) {
	ws := t.TempDir()
	write(t, filepath.Join(ws, "services/other/BUILD.bazel"), `go_library(name = "x")`)
	write(t, filepath.Join(ws, "services/computed/BUILD.bazel"), "rococo_service(\n    name = \"computed\",\n    env = {\"A\": VALUE},\n)\n")
	tests := []struct{ name, want string }{
		{"Bad-Name", `invalid service name "Bad-Name"`},
		{"missing", "no service missing: services/missing/BUILD.bazel does not exist. Fix: rococo new missing --type ..., or pick one of computed, other"},
		{"other", `has no rococo_service(name = "other")`},
		{"computed", "services/computed/BUILD.bazel:3: env entries must be string literals"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(ws, tc.name)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load(%q) = %v, want an error containing %q", tc.name, err, tc.want)
			}
		})
	}
}
