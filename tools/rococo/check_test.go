package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkService writes services/<name>/ with a valid layout and the given
// rococo_service attributes.
func checkService(t *testing.T, ws, name, attrs string) {
	t.Helper()
	dir := filepath.Join(ws, "services", name)
	files := map[string]string{
		"processor.go":    "package main\n\nfunc main() {}\n",
		"README.md":       "# " + name + "\n",
		"lib/lib.go":      "package lib\n",
		"lib/BUILD.bazel": "go_library(name = \"lib\")\n",
		"BUILD.bazel":     "load(\"//rules:defs.bzl\", \"rococo_service\")\n\nrococo_service(\n    name = \"" + name + "\",\n    processor_type = \"P\",\n" + attrs + "    embed = [\":" + name + "_lib\"],\n)\n",
	}
	for n, c := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		attrs string
		edit  func(dir string)
		want  string // "" for OK; else the line printed
	}{
		{"valid", "    execution_type = \"CRON\",\n    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n", nil, ""},
		{"feb30", "    execution_type = \"CRON\",\n    cron_expressions = [\"0 0 30 2 *\"],\n", nil,
			`services/feb30/BUILD.bazel:4: the service would exit at start with: invalid CRON_EXPRESSIONS="0 0 30 2 *": want comma-separated 5-field crontab expressions (minute hour day-of-month month day-of-week), e.g. "*/5 * * * *,0 3 * * mon-fri" ("0 0 30 2 *": never fires). Fix: correct cron_expressions in services/feb30/BUILD.bazel.`},
		{"tiny", "    execution_type = \"CRON\",\n    cron_time_amount = \"0.0000001\",\n    cron_time_unit = \"minutes\",\n", nil,
			`services/tiny/BUILD.bazel:4: the service would exit at start with: invalid CRON_TIME_AMOUNT="0.0000001"`},
		{"noexec", "    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n", nil,
			`services/noexec/BUILD.bazel:6: cron_time_amount is set but execution_type is not, and a service without execution_type is MESSAGING. Fix: set execution_type = "CRON" to run on that schedule.`},
		{"nobroker", "    execution_type = \"MESSAGING\",\n", nil,
			`services/nobroker/BUILD.bazel:4: messaging_type is missing; a MESSAGING service needs a broker. Fix: set messaging_type = "RabbitMqConnection" or "SqsConnection".`},
		{"secret", "    execution_type = \"CRON\",\n    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n    env = {\"RABBITMQ_PASSWORD\": \"guest\"},\n", nil,
			`services/secret/BUILD.bazel:9: env key RABBITMQ_PASSWORD looks like a secret`},
		{"noreadme", "    execution_type = \"CRON\",\n    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n", func(dir string) { os.Remove(filepath.Join(dir, "README.md")) },
			`services/noreadme/BUILD.bazel:4: README.md is missing from services/noreadme. Fix: add services/noreadme/README.md.`},
		{"managed", "    execution_type = \"CRON\",\n    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n    env = {\"PROCESSOR_TYPE\": \"Q\"},\n", nil,
			`services/managed/BUILD.bazel:9: env sets PROCESSOR_TYPE, which the processor_type attribute controls. Fix: remove PROCESSOR_TYPE from env and set processor_type = ... instead.`},
		{"noembed", "    execution_type = \"CRON\",\n    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n", func(dir string) {
			p := filepath.Join(dir, "BUILD.bazel")
			b, _ := os.ReadFile(p)
			_ = os.WriteFile(p, []byte(strings.Replace(string(b), "    embed = [\":noembed_lib\"],\n", "", 1)), 0o644)
		}, `services/noembed/BUILD.bazel:3: embed is empty: the service has no main library. Fix: run bazel run //:gazelle so it sets embed = [":noembed_lib"] from processor.go.`},
		{"nolibbuild", "    execution_type = \"CRON\",\n    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n", func(dir string) { os.Remove(filepath.Join(dir, "lib", "BUILD.bazel")) },
			`services/nolibbuild/BUILD.bazel:4: services/nolibbuild/lib/ has Go files but no BUILD.bazel. Fix: run bazel run //:gazelle.`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := fakeWorkspace(t)
			checkService(t, ws, tc.name, tc.attrs)
			if tc.edit != nil {
				tc.edit(filepath.Join(ws, "services", tc.name))
			}
			code, out, errs := runCLI(t, ws, "", "check", "services/"+tc.name)
			if tc.want == "" {
				if code != 0 || out != "rococo check: 1 service(s) OK\n" {
					t.Errorf("check: %d %q %q, want OK", code, out, errs)
				}
				return
			}
			if code != 1 || !strings.HasPrefix(out, tc.want) || !strings.Contains(errs, "1 problem(s)") {
				t.Errorf("check: %d\n%s\nwant status 1 and a line starting\n%s", code, out, tc.want)
			}
		})
	}
}
