package main

import (
	"fmt"
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

// procGo is a processor.go declaring OrdersProcessor (messages) and
// NightlyProcessor (cron), running them with common.Main.
const procGo = `package main

import (
	"context"

	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/rococo"
)

type OrdersProcessor struct{}

func (*OrdersProcessor) Process(context.Context, *rococo.Message) error { return nil }

type NightlyProcessor struct{}

func (NightlyProcessor) Process(ctx context.Context) error { return nil }

func main() { common.Main(&OrdersProcessor{}, NightlyProcessor{}) }
`

// withProcessors writes procGo as the service's processor.go and sets
// processor_type to pt.
func withProcessors(pt string) func(dir string) {
	return func(dir string) {
		_ = os.WriteFile(filepath.Join(dir, "processor.go"), []byte(procGo), 0o644)
		p := filepath.Join(dir, "BUILD.bazel")
		b, _ := os.ReadFile(p)
		_ = os.WriteFile(p, []byte(strings.Replace(string(b), `processor_type = "P"`, `processor_type = "`+pt+`"`, 1)), 0o644)
	}
}

// replace edits the service's BUILD.bazel.
func replace(old, new string) func(dir string) {
	return func(dir string) {
		p := filepath.Join(dir, "BUILD.bazel")
		b, _ := os.ReadFile(p)
		_ = os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644)
	}
}

func both(a, b func(string)) func(string) { return func(d string) { a(d); b(d) } }

func TestCheck(t *testing.T) {
	const msg = "    execution_type = \"MESSAGING\",\n    messaging_type = \"RabbitMqConnection\",\n"
	const cron5 = "    execution_type = \"CRON\",\n    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n"
	tests := []struct {
		name  string
		attrs string
		edit  func(dir string)
		want  string // "" for OK; else the line printed (prefix); more lines after \n
	}{
		{"valid", "    execution_type = \"CRON\",\n    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n", nil, ""},
		{"feb30", "    execution_type = \"CRON\",\n    cron_expressions = [\"0 0 30 2 *\"],\n", nil,
			`services/feb30/BUILD.bazel:7: the service would exit at start with: invalid CRON_EXPRESSIONS="0 0 30 2 *": want comma-separated 5-field crontab expressions (minute hour day-of-month month day-of-week), e.g. "*/5 * * * *,0 3 * * mon-fri" ("0 0 30 2 *": never fires). Fix: correct cron_expressions in services/feb30/BUILD.bazel.`},
		{"tiny", "    execution_type = \"CRON\",\n    cron_time_amount = \"0.0000001\",\n    cron_time_unit = \"minutes\",\n", nil,
			`services/tiny/BUILD.bazel:7: the service would exit at start with: invalid CRON_TIME_AMOUNT="0.0000001"`},
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
		}, `services/noembed/BUILD.bazel:4: embed is empty: the service has no main library. Fix: run bazel run //:gazelle so it sets embed = [":noembed_lib"] from processor.go.`},
		{"nolibbuild", "    execution_type = \"CRON\",\n    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n", func(dir string) { os.Remove(filepath.Join(dir, "lib", "BUILD.bazel")) },
			`services/nolibbuild/BUILD.bazel:4: services/nolibbuild/lib/ has Go files but no BUILD.bazel. Fix: run bazel run //:gazelle.`},
		// 1. Names rococo_service takes for its own targets, and lib.
		{"lib", cron5, nil, `services/lib/BUILD.bazel:4: invalid service name "lib": rococo_service creates a target of that name in every service's package (reserved: env_check, image, k8s, lib, load, push, and names ending in _test). Fix: rename services/lib (and the rococo_service) to a valid name, for example "lib_service".`},
		{"image", cron5, nil, `services/image/BUILD.bazel:4: invalid service name "image": rococo_service creates a target`},
		{"push", cron5, nil, `services/push/BUILD.bazel:4: invalid service name "push"`},
		{"k8s", cron5, nil, `services/k8s/BUILD.bazel:4: invalid service name "k8s"`},
		{"load", cron5, nil, `services/load/BUILD.bazel:4: invalid service name "load"`},
		{"env_check", cron5, nil, `services/env_check/BUILD.bazel:4: invalid service name "env_check"`},
		{"check_test", cron5, nil, `services/check_test/BUILD.bazel:4: invalid service name "check_test": rococo_service names the service's tests`},
		// 2. What :check_test (the binary's --check on the image's env) refuses.
		{"queue_missing", msg + "    env = {\"Probe12OrdersProcessor_QUEUE_NAME\": \"q\"},\n", withProcessors("OrdersProcessor"),
			`services/queue_missing/BUILD.bazel:8: the service would exit at start with: missing OrdersProcessor_QUEUE_NAME: want the name of the queue to consume (required when EXECUTION_TYPE is MESSAGING; QUEUE_NAME_PREFIX is prepended). Fix: set env["OrdersProcessor_QUEUE_NAME"] in services/queue_missing/BUILD.bazel.`},
		{"queue_ok", msg + "    env = {\"OrdersProcessor_QUEUE_NAME\": \"q\"},\n", withProcessors("OrdersProcessor"), ""},
		{"sqs_queue", "    execution_type = \"MESSAGING\",\n    messaging_type = \"SqsConnection\",\n    env = {\n        \"AWS_REGION\": \"us-east-1\",\n        \"OrdersProcessor_QUEUE_NAME\": \"probe12 sq!\",\n    },\n", withProcessors("OrdersProcessor"),
			`services/sqs_queue/BUILD.bazel:10: the service would exit at start with: invalid OrdersProcessor_QUEUE_NAME="probe12 sq!"`},
		{"processor_typo", msg + "    env = {\"OrdersProcesor_QUEUE_NAME\": \"q\"},\n", withProcessors("OrdersProcesor"),
			`services/processor_typo/BUILD.bazel:5: the service would exit at start with: invalid PROCESSOR_TYPE="OrdersProcesor": want a processor of this service: NightlyProcessor, OrdersProcessor. Fix: correct processor_type in services/processor_typo/BUILD.bazel.`},
		{"wrong_kind", cron5, withProcessors("OrdersProcessor"),
			`services/wrong_kind/BUILD.bazel:5: the service would exit at start with: invalid PROCESSOR_TYPE="OrdersProcessor": want a cron processor (Process(ctx) error) for EXECUTION_TYPE=CRON, OrdersProcessor is a message processor; cron processors of this service: NightlyProcessor, or set EXECUTION_TYPE=MESSAGING.`},
		{"cron_ok", cron5, withProcessors("NightlyProcessor"), ""},
		{"startup_not_bool", cron5 + "    run_at_startup = \"yes\",\n", nil,
			`services/startup_not_bool/BUILD.bazel:9: run_at_startup = "yes" is not a bool. Fix: set run_at_startup = True or False.`},
		{"amount_float", "    execution_type = \"CRON\",\n    cron_time_amount = 0.5,\n    cron_time_unit = \"minutes\",\n", nil,
			`services/amount_float/BUILD.bazel:7: cron_time_amount = 0.5 is neither a number nor a string. Fix: set cron_time_amount = 5, or "0.5" for a fraction.`},
		{"env_value_int", cron5 + "    env = {\"HEALTH_PORT\": 8080},\n", nil,
			`services/env_value_int/BUILD.bazel:9: env HEALTH_PORT = 8080 is not a string. Fix: quote the value: HEALTH_PORT = "8080".`},
		{"two_missing", "", replace(`    processor_type = "P",`+"\n", ""),
			"services/two_missing/BUILD.bazel:4: processor_type is missing; the runtime picks the processor by this name. Fix: set processor_type to the name of a processor type defined in processor.go.\n" +
				`services/two_missing/BUILD.bazel:4: messaging_type is missing; a MESSAGING service needs a broker. Fix: set messaging_type = "RabbitMqConnection" or "SqsConnection".`},
		{"bad_exec_and_secret", "    execution_type = \"BATCH\",\n    env = {\"API_TOKEN\": \"x\"},\n", nil,
			"services/bad_exec_and_secret/BUILD.bazel:6: execution_type = \"BATCH\" is not a valid EXECUTION_TYPE; want one of MESSAGING, CRON, BAND. Fix: " +
				"\nservices/bad_exec_and_secret/BUILD.bazel:7: env key API_TOKEN looks like a secret (it contains TOKEN)"},
		// 5. An env rococo cannot read without Bazel.
		{"env_expr", cron5 + "    env = COMMON | {\"A\": \"b\"},\n", nil,
			`services/env_expr/BUILD.bazel:9: env must be a dict literal for rococo check, dev and send (they read BUILD.bazel without Bazel). Fix: write env = ... as a literal, not a variable or an expression.`},
		{"env_entry_expr", cron5 + "    env = {\"A\": B},\n", nil,
			`services/env_entry_expr/BUILD.bazel:9: env entries must be string literals for rococo check, dev and send (they read BUILD.bazel without Bazel). Fix: write the entry as "KEY": "value".`},
		// 7. A value error at its attribute's line; a syntax error once, with a fix.
		{"unit_line", "    execution_type = \"CRON\",\n    cron_time_amount = 5,\n    version = \"1\",\n    cron_time_unit = \"fortnights\",\n", nil,
			`services/unit_line/BUILD.bazel:9: the service would exit at start with: invalid CRON_TIME_UNIT="fortnights"`},
		{"env_line", cron5 + "    env = {\n        \"A\": \"b\",\n        \"HEALTH_PORT\": \"http\",\n    },\n", nil,
			`services/env_line/BUILD.bazel:11: the service would exit at start with: invalid HEALTH_PORT="http"`},
		{"syntax", cron5, replace(`    cron_time_amount = 5,`, `    cron_time_amount = 5 5,`),
			`services/syntax/BUILD.bazel:7:27: syntax error near 5. Fix: correct the Starlark syntax there (Bazel reads services/syntax/BUILD.bazel the same way).`},
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
			want := strings.Split(tc.want, "\n")
			got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			ok := code == 1 && len(got) == len(want) && strings.Contains(errs, fmt.Sprintf(" %d problem(s)", len(want)))
			for i := 0; ok && i < len(want); i++ {
				ok = strings.HasPrefix(got[i], want[i])
			}
			if !ok {
				t.Errorf("check: %d\n%s\nwant status 1 and lines starting\n%s", code, out, tc.want)
			}
		})
	}
}

// TestCheck_relative_paths: a relative path is the working directory's
// first (rococo check . inside services/<name>), else the workspace's.
func TestCheck_relative_paths(t *testing.T) {
	ws := fakeWorkspace(t)
	checkService(t, ws, "probe", "    execution_type = \"CRON\",\n    cron_time_amount = 5,\n    cron_time_unit = \"minutes\",\n")
	tests := []struct {
		wd, arg string
	}{
		{"services/probe", "."},
		{"services", "probe"},
		{"services/probe/lib", ".."},
		{"services/probe", "services/probe"}, // not under the working directory: the workspace's
		{"", "services/probe"},
	}
	for _, tc := range tests {
		t.Chdir(filepath.Join(ws, tc.wd))
		if code, out, errs := runCLI(t, ws, "", "check", tc.arg); code != 0 || out != "rococo check: 1 service(s) OK\n" {
			t.Errorf("in %s: rococo check %s: %d %q %q, want OK", tc.wd, tc.arg, code, out, errs)
		}
	}
	// Under bazel run the user's directory is BUILD_WORKING_DIRECTORY.
	t.Chdir(t.TempDir())
	var stdout, stderr strings.Builder
	env := map[string]string{"BUILD_WORKSPACE_DIRECTORY": ws, "BUILD_WORKING_DIRECTORY": filepath.Join(ws, "services", "probe")}
	if code := run(t.Context(), []string{"check", "."}, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Errorf("bazel run from services/probe: rococo check .: %d %q %q", code, stdout.String(), stderr.String())
	}
}

func TestCheck_help_and_flags(t *testing.T) {
	ws := fakeWorkspace(t)
	if code, out, _ := runCLI(t, ws, "", "check", "-h"); code != 0 || !strings.Contains(out, "usage: rococo check") {
		t.Errorf("check -h: %d %q, want 0 and the usage", code, out)
	}
	if code, _, errs := runCLI(t, ws, "", "check", "--all"); code != 2 || !strings.Contains(errs, "unknown flag --all") {
		t.Errorf("check --all: %d %q, want 2", code, errs)
	}
}
