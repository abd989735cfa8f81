package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bazelbuild/buildtools/build"

	"github.com/rococo-go/rococo/tools/internal/servicecheck"
	"github.com/rococo-go/rococo/tools/rococo/internal/service"
)

// cmdCheck is `rococo check [paths...]`: the layout and env of each service
// (every services/* without paths), without Bazel, one problem per line as
// file:line: problem. Fix: fix. Exit 1 when any.
func cmdCheck(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	ws, err := workspace(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "rococo check: %v\n", err)
		return 1
	}
	dirs := args
	if len(dirs) == 0 {
		matches, _ := filepath.Glob(filepath.Join(ws, "services", "*", "BUILD.bazel"))
		for _, m := range matches {
			dirs = append(dirs, filepath.Dir(m))
		}
	}
	n := 0
	for _, d := range dirs {
		for _, p := range checkDir(ws, d) {
			fmt.Fprintln(stdout, p)
			n++
		}
	}
	if n > 0 {
		fmt.Fprintf(stderr, "rococo check: %d problem(s)\n", n)
		return 1
	}
	fmt.Fprintf(stdout, "rococo check: %d service(s) OK\n", len(dirs))
	return 0
}

// checkDir checks one service directory (absolute, or relative to the
// workspace or the working directory).
func checkDir(ws, dir string) []string {
	abs := dir
	if !filepath.IsAbs(abs) {
		if _, err := os.Stat(filepath.Join(ws, dir)); err == nil {
			abs = filepath.Join(ws, dir)
		} else if a, err := filepath.Abs(dir); err == nil {
			abs = a
		}
	}
	pkg := rel(ws, abs)
	buildFile := filepath.Join(pkg, "BUILD.bazel")
	data, err := os.ReadFile(filepath.Join(abs, "BUILD.bazel"))
	if err != nil {
		return []string{fmt.Sprintf("%s: no BUILD.bazel. Fix: write one with rococo_service (rococo new writes a service)", pkg)}
	}
	var out []string
	at := func(line int, problem, fix string) {
		out = append(out, fmt.Sprintf("%s:%d: %s. Fix: %s.", buildFile, line, problem, fix))
	}
	f, err := buildParse(abs, data)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", buildFile, err)}
	}
	var r *build.Rule
	for _, x := range f.Rules("rococo_service") {
		if x.Name() == filepath.Base(abs) {
			r = x
		}
	}
	if r == nil {
		return []string{fmt.Sprintf("%s:1: no rococo_service(name = %q). Fix: declare the service with rococo_service, named after its directory (rococo new writes one)", buildFile, filepath.Base(abs))}
	}
	line := func(attr string) int {
		if e := r.Attr(attr); e != nil {
			l, _ := e.Span()
			return l.Line
		}
		l, _ := r.Call.Span()
		return l.Line
	}
	// Layout.
	for _, name := range []string{"processor.go", "README.md"} {
		b, err := os.ReadFile(filepath.Join(abs, name))
		switch {
		case err != nil:
			at(line("name"), fmt.Sprintf("%s is missing from %s", name, pkg), "add "+filepath.Join(pkg, name))
		case name == "README.md" && strings.TrimSpace(string(b)) == "":
			at(line("name"), filepath.Join(pkg, name)+" is empty", fmt.Sprintf("describe the service in %s/README.md: what it does, how to run it, its env variables", pkg))
		}
	}
	lib := filepath.Join(abs, "lib")
	goFiles, _ := filepath.Glob(filepath.Join(lib, "*.go"))
	goFiles = slices.DeleteFunc(goFiles, func(p string) bool { return strings.HasSuffix(p, "_test.go") })
	switch _, err := os.Stat(lib); {
	case err != nil:
		at(line("name"), fmt.Sprintf("lib/ is missing from %s; the business logic lives in the lib package", pkg), "create "+pkg+"/lib/")
	case len(goFiles) == 0:
		at(line("name"), pkg+"/lib/ has no Go files", "put the business logic in "+pkg+"/lib/*.go")
	case !isFile(filepath.Join(lib, "BUILD.bazel")):
		at(line("name"), pkg+"/lib/ has Go files but no BUILD.bazel", "run bazel run //:gazelle")
	}
	// Attributes that need no parser.
	if l, ok := r.Attr("embed").(*build.ListExpr); !ok || len(l.List) == 0 {
		at(line("embed"), "embed is empty: the service has no main library", fmt.Sprintf("run bazel run //:gazelle so it sets embed = [\":%s_lib\"] from processor.go", filepath.Base(abs)))
	}
	if d, ok := r.Attr("env").(*build.DictExpr); ok {
		for _, kv := range d.List {
			k, ok := kv.Key.(*build.StringExpr)
			if !ok {
				continue
			}
			if a := servicecheck.Attribute(k.Value); a != "" {
				l, _ := kv.Span()
				at(l.Line, fmt.Sprintf("env sets %s, which the %s attribute controls", k.Value, a), fmt.Sprintf("remove %s from env and set %s = ... instead", k.Value, a))
			}
		}
	}
	et := r.AttrString("execution_type")
	switch et {
	case "", "MESSAGING", "CRON", "BAND":
	default:
		at(line("execution_type"), fmt.Sprintf("execution_type = %q is not a valid EXECUTION_TYPE; want one of MESSAGING, CRON, BAND", et), `set execution_type = "MESSAGING" (consume a queue), "CRON" (run on a schedule) or "BAND" (serve Band functions)`)
		return out
	}
	var scheduled []string
	for _, a := range []string{"cron_time_amount", "cron_time_unit", "cron_run_at", "cron_expressions", "run_at_startup"} {
		if r.Attr(a) != nil {
			scheduled = append(scheduled, a)
		}
	}
	switch {
	case et == "" && len(scheduled) > 0:
		at(line(scheduled[0]), scheduled[0]+" is set but execution_type is not, and a service without execution_type is MESSAGING", `set execution_type = "CRON" to run on that schedule`)
		return out
	case et != "CRON" && et != "" && len(scheduled) > 0:
		at(line(scheduled[0]), fmt.Sprintf("%s is set but execution_type is %s", scheduled[0], et), "remove "+scheduled[0]+`, or set execution_type = "CRON"`)
		return out
	case (et == "" || et == "MESSAGING") && r.AttrString("messaging_type") == "":
		at(line("name"), "messaging_type is missing; a MESSAGING service needs a broker", `set messaging_type = "RabbitMqConnection" or "SqsConnection"`)
		return out
	case et == "CRON" && len(scheduled) == 0 || et == "CRON" && len(scheduled) == 1 && scheduled[0] == "run_at_startup":
		at(line("name"), "a CRON service needs a schedule", `set cron_expressions = ["0 3 * * *"], or cron_time_amount and cron_time_unit`)
		return out
	}
	if mt := r.AttrString("messaging_type"); mt != "" && mt != "RabbitMqConnection" && mt != "SqsConnection" {
		at(line("messaging_type"), fmt.Sprintf("messaging_type = %q is not a valid MESSAGING_TYPE; want one of RabbitMqConnection, SqsConnection", mt), `set messaging_type = "RabbitMqConnection" or "SqsConnection"`)
		return out
	}
	svc, err := service.LoadDir(ws, abs)
	if err != nil {
		at(line("env"), err.Error(), "write env and the schedule as literals")
		return out
	}
	for k := range svc.Baked {
		if m := servicecheck.SecretMarker(k); m != "" {
			at(line("env"), fmt.Sprintf("env key %s looks like a secret (it contains %s); anyone who can pull the image could read it", k, m), "remove "+k+" from env and give it at run time (the container's environment, an orchestrator secret, or .env.local)")
		}
	}
	// Values: the runtime's own validation, as the :env_check action runs it.
	if p := servicecheck.EnvProblem(pkg, svc.Baked); p != "" {
		out = append(out, fmt.Sprintf("%s:%d: %s", buildFile, line("name"), p))
	}
	return out
}

func buildParse(dir string, data []byte) (*build.File, error) {
	return build.ParseBuild(filepath.Join(dir, "BUILD.bazel"), data)
}
