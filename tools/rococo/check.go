package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/bazelbuild/buildtools/build"

	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/tools/internal/servicecheck"
	"github.com/rococo-go/rococo/tools/rococo/internal/service"
)

const checkUsage = "usage: rococo check [service dirs...]   (every services/* without arguments)"

// cmdCheck is `rococo check [paths...]`: the layout and env of each service
// (every services/* without paths), without Bazel, one problem per line as
// file:line: problem. Fix: fix. Exit 1 when any.
func cmdCheck(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	for _, a := range args {
		switch {
		case a == "-h" || a == "-help" || a == "--help":
			fmt.Fprintln(stdout, checkUsage)
			return 0
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "rococo check: unknown flag %s\n%s\n", a, checkUsage)
			return 2
		}
	}
	ws, err := workspace(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "rococo check: %v\n", err)
		return 1
	}
	wd := getenv("BUILD_WORKING_DIRECTORY") // the user's directory under bazel run
	if wd == "" {
		wd, _ = os.Getwd()
	}
	var dirs []string
	for _, a := range args {
		dirs = append(dirs, resolveDir(ws, wd, a))
	}
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

// resolveDir makes a service directory argument absolute: relative to the
// working directory when it exists there, else to the workspace.
func resolveDir(ws, wd, dir string) string {
	if filepath.IsAbs(dir) {
		return filepath.Clean(dir)
	}
	if wd != "" {
		if _, err := os.Stat(filepath.Join(wd, dir)); err == nil {
			return filepath.Join(wd, dir)
		}
	}
	if _, err := os.Stat(filepath.Join(ws, dir)); err == nil {
		return filepath.Join(ws, dir)
	}
	if wd != "" {
		return filepath.Join(wd, dir)
	}
	return filepath.Join(ws, dir)
}

// The values rules/private/validate.bzl accepts: the runtime's.
var (
	executionTypes = []string{config.Messaging, config.Cron, config.Band}
	messagingTypes = []string{config.RabbitMQ, config.SQS}
	cronAttrs      = []string{"cron_time_amount", "cron_time_unit", "cron_run_at", "cron_expressions", "run_at_startup"}
	identifier     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// checker collects the problems of one service's BUILD.bazel.
type checker struct {
	buildFile string
	r         *build.Rule
	out       []string
}

func (c *checker) at(line int, problem, fix string) {
	c.out = append(c.out, fmt.Sprintf("%s:%d: %s. Fix: %s.", c.buildFile, line, problem, strings.TrimSuffix(fix, ".")))
}

// line is the line of the attribute (its "attr =" line), else of the
// rule's name.
func (c *checker) line(attr string) int {
	if a := c.r.AttrDefn(attr); a != nil {
		l, _ := a.Span()
		return l.Line
	}
	if attr != "name" {
		return c.line("name")
	}
	l, _ := c.r.Call.Span()
	return l.Line
}

// starType is the Starlark type of a literal, "" for an expression rococo
// cannot evaluate without Bazel.
func starType(e build.Expr) string {
	switch e := e.(type) {
	case *build.StringExpr:
		return "string"
	case *build.LiteralExpr:
		if strings.ContainsAny(e.Token, ".eE") && !strings.HasPrefix(e.Token, "0x") {
			return "float"
		}
		return "int"
	case *build.Ident:
		switch e.Name {
		case "True", "False":
			return "bool"
		case "None":
			return "NoneType"
		}
	case *build.ListExpr:
		return "list"
	case *build.DictExpr:
		return "dict"
	}
	return ""
}

// attr returns the attribute's expression, nil when it is absent or None.
func (c *checker) attr(name string) build.Expr {
	e := c.r.Attr(name)
	if starType(e) == "NoneType" {
		return nil
	}
	return e
}

// set is validate.bzl's _set: given, and not "" or [].
func (c *checker) set(name string) bool {
	switch e := c.attr(name).(type) {
	case nil:
		return false
	case *build.StringExpr:
		return e.Value != ""
	case *build.ListExpr:
		return len(e.List) > 0
	}
	return true
}

// truthy is Starlark's truth of the attribute's value.
func (c *checker) truthy(name string) bool {
	switch e := c.attr(name).(type) {
	case *build.LiteralExpr:
		return strings.Trim(e.Token, "0.") != ""
	case *build.Ident:
		return e.Name != "False"
	case *build.DictExpr:
		return len(e.List) > 0
	}
	return c.set(name)
}

// str is the attribute's value when it is a string literal.
func (c *checker) str(name string) (string, bool) {
	s, ok := c.attr(name).(*build.StringExpr)
	if !ok {
		return "", false
	}
	return s.Value, true
}

// repr is the attribute's value as Starlark's %r shows it.
func (c *checker) repr(name string) string {
	if s, ok := c.attr(name).(*build.StringExpr); ok {
		return fmt.Sprintf("%q", s.Value)
	}
	return build.FormatString(c.attr(name))
}

// checkDir checks one service directory (absolute).
func checkDir(ws, abs string) []string {
	pkg := rel(ws, abs)
	buildFile := filepath.Join(pkg, "BUILD.bazel")
	data, err := os.ReadFile(filepath.Join(abs, "BUILD.bazel"))
	if err != nil {
		return []string{fmt.Sprintf("%s: no BUILD.bazel. Fix: write one with rococo_service (rococo new writes a service)", pkg)}
	}
	f, err := service.Parse(buildFile, data)
	if err != nil {
		return []string{err.Error() + "."}
	}
	name := filepath.Base(abs)
	var r *build.Rule
	for _, x := range f.Rules("rococo_service") {
		if x.Name() == name {
			r = x
		}
	}
	if r == nil {
		return []string{fmt.Sprintf("%s:1: no rococo_service(name = %q). Fix: declare the service with rococo_service, named after its directory (rococo new writes one)", buildFile, name)}
	}
	c := &checker{buildFile: buildFile, r: r}
	if problem, fix := service.NameProblem(name); problem != "" {
		c.at(c.line("name"), problem, fmt.Sprintf("rename services/%s (and the rococo_service) to a valid name, %s", name, fix))
	}
	c.layout(abs, pkg)
	if l, ok := r.Attr("embed").(*build.ListExpr); !ok || len(l.List) == 0 {
		c.at(c.line("embed"), "embed is empty: the service has no main library", fmt.Sprintf("run bazel run //:gazelle so it sets embed = [\":%s_lib\"] from processor.go", name))
	}
	before := len(c.out)
	c.attrs()
	if len(c.out) > before {
		// The build stops at loading; the values are checked once the
		// attributes are right.
		return c.out
	}
	c.values(ws, abs, pkg)
	return c.out
}

// layout checks the files of the service directory (validate_layout).
func (c *checker) layout(abs, pkg string) {
	for _, name := range []string{"processor.go", "README.md"} {
		b, err := os.ReadFile(filepath.Join(abs, name))
		switch {
		case err != nil:
			c.at(c.line("name"), fmt.Sprintf("%s is missing from %s", name, pkg), "add "+filepath.Join(pkg, name))
		case name == "README.md" && strings.TrimSpace(string(b)) == "":
			c.at(c.line("name"), filepath.Join(pkg, name)+" is empty", fmt.Sprintf("describe the service in %s/README.md: what it does, how to run it, its env variables", pkg))
		}
	}
	lib := filepath.Join(abs, "lib")
	goFiles, _ := filepath.Glob(filepath.Join(lib, "*.go"))
	goFiles = slices.DeleteFunc(goFiles, func(p string) bool { return strings.HasSuffix(p, "_test.go") })
	switch _, err := os.Stat(lib); {
	case err != nil:
		c.at(c.line("name"), fmt.Sprintf("lib/ is missing from %s; the business logic lives in the lib package", pkg), "create "+pkg+"/lib/")
	case len(goFiles) == 0:
		c.at(c.line("name"), pkg+"/lib/ has no Go files", "put the business logic in "+pkg+"/lib/*.go")
	case !isFile(filepath.Join(lib, "BUILD.bazel")):
		c.at(c.line("name"), pkg+"/lib/ has Go files but no BUILD.bazel", "run bazel run //:gazelle")
	}
}

// attrs checks the execution attributes as rules/private/validate.bzl's
// validate_attrs does at loading time: every problem, each at its
// attribute's line.
func (c *checker) attrs() {
	literal := true
	for _, a := range append([]string{"execution_type", "processor_type", "messaging_type", "env"}, cronAttrs...) {
		if e := c.attr(a); e != nil && starType(e) == "" {
			what := "a literal"
			if a == "env" {
				what = "a dict literal"
			}
			c.at(c.line(a), fmt.Sprintf("%s must be %s for rococo check, dev and send (they read BUILD.bazel without Bazel)", a, what), fmt.Sprintf("write %s = ... as a literal, not a variable or an expression", a))
			literal = false
		}
	}
	if !literal {
		return
	}
	et := "MESSAGING"
	if c.truthy("execution_type") {
		v, ok := c.str("execution_type")
		if !ok || !slices.Contains(executionTypes, v) {
			c.at(c.line("execution_type"), fmt.Sprintf("execution_type = %s is not a valid EXECUTION_TYPE; want one of %s", c.repr("execution_type"), strings.Join(executionTypes, ", ")), `set execution_type = "MESSAGING" (consume a queue), "CRON" (run on a schedule) or "BAND" (serve Band functions)`)
		}
		et = v
	}
	if !c.truthy("processor_type") && et != "BAND" {
		c.at(c.line("name"), "processor_type is missing; the runtime picks the processor by this name", "set processor_type to the name of a processor type defined in processor.go")
	} else if c.truthy("processor_type") {
		if v, ok := c.str("processor_type"); !ok || !identifier.MatchString(v) {
			c.at(c.line("processor_type"), fmt.Sprintf("processor_type = %s is not a Go type name", c.repr("processor_type")), "set processor_type to the name of a processor type defined in processor.go")
		}
	}
	if c.set("messaging_type") {
		if v, ok := c.str("messaging_type"); !ok || !slices.Contains(messagingTypes, v) {
			c.at(c.line("messaging_type"), fmt.Sprintf("messaging_type = %s is not a valid MESSAGING_TYPE; want one of %s", c.repr("messaging_type"), strings.Join(messagingTypes, ", ")), `set messaging_type = "RabbitMqConnection" or "SqsConnection"`)
		}
	}
	var scheduled []string
	for _, a := range cronAttrs {
		if c.set(a) {
			scheduled = append(scheduled, a)
		}
	}
	switch {
	case !c.truthy("execution_type") && len(scheduled) > 0:
		c.at(c.line(scheduled[0]), scheduled[0]+" is set but execution_type is not, and a service without execution_type is MESSAGING", `set execution_type = "CRON" to run on that schedule`)
	case et == "MESSAGING":
		if !c.set("messaging_type") {
			c.at(c.line("name"), "messaging_type is missing; a MESSAGING service needs a broker", `set messaging_type = "RabbitMqConnection" or "SqsConnection"`)
		}
		for _, a := range scheduled {
			c.at(c.line(a), a+" is set but execution_type is MESSAGING", "remove "+a+`, or set execution_type = "CRON"`)
		}
	case et == "CRON":
		c.cron()
	case et == "BAND":
		for _, a := range scheduled {
			c.at(c.line(a), a+" is set but execution_type is BAND", "remove "+a+` (schedule a Band function with s.Every or s.Crontab), or set execution_type = "CRON"`)
		}
	}
	c.env()
}

// cron is validate.bzl's _validate_cron: the schedule's shape and types.
func (c *checker) cron() {
	if e := c.attr("cron_expressions"); e != nil && starType(e) != "list" && starType(e) != "string" {
		c.at(c.line("cron_expressions"), fmt.Sprintf("cron_expressions = %s is not a list of crontab expressions", c.repr("cron_expressions")), `set cron_expressions = ["0 3 * * *"]`)
	}
	if !c.set("cron_expressions") && !c.set("cron_time_amount") && !c.set("cron_time_unit") {
		c.at(c.line("name"), "a CRON service needs a schedule", `set cron_expressions = ["0 3 * * *"], or cron_time_amount and cron_time_unit`)
		return
	}
	if c.set("cron_time_amount") != c.set("cron_time_unit") {
		missing := "cron_time_amount"
		if c.set("cron_time_amount") {
			missing = "cron_time_unit"
		}
		c.at(c.line("name"), missing+" is missing: the interval needs both cron_time_amount and cron_time_unit", "set "+missing+", or remove the other")
	}
	if c.set("cron_time_unit") && starType(c.attr("cron_time_unit")) != "string" {
		c.at(c.line("cron_time_unit"), fmt.Sprintf("cron_time_unit = %s is not a string", c.repr("cron_time_unit")), `set cron_time_unit = "minutes" (or seconds, hours, days, weeks)`)
	}
	if t := starType(c.attr("cron_time_amount")); c.set("cron_time_amount") && t != "int" && t != "string" {
		c.at(c.line("cron_time_amount"), fmt.Sprintf("cron_time_amount = %s is neither a number nor a string", c.repr("cron_time_amount")), `set cron_time_amount = 5, or "0.5" for a fraction`)
	}
	if c.set("cron_run_at") && starType(c.attr("cron_run_at")) != "string" {
		c.at(c.line("cron_run_at"), fmt.Sprintf("cron_run_at = %s is not a string", c.repr("cron_run_at")), `set cron_run_at to a 24-hour time such as "03:30:00"`)
	}
	if e := c.attr("run_at_startup"); e != nil && starType(e) != "bool" {
		c.at(c.line("run_at_startup"), fmt.Sprintf("run_at_startup = %s is not a bool", c.repr("run_at_startup")), "set run_at_startup = True or False")
	}
}

// env is validate.bzl's _validate_env, each problem at its entry's line.
func (c *checker) env() {
	d, ok := c.attr("env").(*build.DictExpr)
	if !ok {
		if e := c.attr("env"); e != nil {
			c.at(c.line("env"), fmt.Sprintf("env = %s is not a dict", build.FormatString(e)), `write env = {"KEY": "value"}`)
		}
		return
	}
	for _, kv := range d.List {
		l, _ := kv.Span()
		k, ok := kv.Key.(*build.StringExpr)
		if !ok {
			c.at(l.Line, "env entries must be string literals for rococo check, dev and send (they read BUILD.bazel without Bazel)", `write the entry as "KEY": "value"`)
			continue
		}
		switch {
		case !identifier.MatchString(k.Value):
			c.at(l.Line, fmt.Sprintf("env key %q is not a valid variable name", k.Value), "use letters, digits and _ only, not starting with a digit")
		case servicecheck.Attribute(k.Value) != "":
			a := servicecheck.Attribute(k.Value)
			c.at(l.Line, fmt.Sprintf("env sets %s, which the %s attribute controls", k.Value, a), fmt.Sprintf("remove %s from env and set %s = ... instead", k.Value, a))
		case servicecheck.SecretMarker(k.Value) != "":
			c.at(l.Line, fmt.Sprintf("env key %s looks like a secret (it contains %s); anyone who can pull the image could read it", k.Value, servicecheck.SecretMarker(k.Value)), "remove "+k.Value+" from env and give it at run time (the container's environment, an orchestrator secret, or .env.local)")
		case starType(kv.Value) == "":
			c.at(l.Line, "env entries must be string literals for rococo check, dev and send (they read BUILD.bazel without Bazel)", `write the entry as "KEY": "value"`)
		case starType(kv.Value) != "string":
			v := build.FormatString(kv.Value)
			c.at(l.Line, fmt.Sprintf("env %s = %s is not a string", k.Value, v), fmt.Sprintf(`quote the value: %s = "%s"`, k.Value, v))
		}
	}
}

// values runs the runtime's validation on the image's env as :env_check
// and :check_test run it (runtimeCheck), and reports the problem at the
// line of the attribute or env entry it names.
func (c *checker) values(ws, abs, pkg string) {
	svc, err := service.LoadDir(ws, abs)
	if err != nil {
		var se *service.Error
		if errors.As(err, &se) {
			c.at(se.Line, se.Problem, se.Fix)
		} else {
			c.out = append(c.out, err.Error())
		}
		return
	}
	problem, variable := servicecheck.Explain(pkg, runtimeCheck(svc.Baked, service.Processors(abs)))
	if problem == "" {
		return
	}
	line := c.line("name")
	_, lines, _ := service.EnvAttr(c.buildFile, c.r)
	if a := servicecheck.Attribute(variable); a != "" && c.r.Attr(a) != nil {
		line = c.line(a)
	} else if l, ok := lines[variable]; ok {
		line = l
	} else if variable != "" && c.r.Attr("env") != nil && servicecheck.Attribute(variable) == "" {
		line = c.line("env")
	}
	c.out = append(c.out, fmt.Sprintf("%s:%d: %s", c.buildFile, line, problem))
}
