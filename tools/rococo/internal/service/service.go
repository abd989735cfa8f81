package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bazelbuild/buildtools/build"
	"github.com/joho/godotenv"
)

// Service is one services/<name>/ of the workspace.
type Service struct {
	// Name is the directory name and the rococo_service's name.
	Name string
	// Dir is the service directory, services/<name> under the workspace.
	Dir string
	// Workspace is the workspace root.
	Workspace string
	// Baked is the env the rule bakes into the image: EXECUTION_TYPE,
	// PROCESSOR_TYPE, MESSAGING_TYPE, the schedule and the env attribute.
	Baked map[string]string
	// BuildFile is the path of services/<name>/BUILD.bazel and Rule its
	// rococo_service call, for checks that name a line.
	BuildFile string
	Rule      *build.Rule
}

// Error is a problem of a BUILD file at a line: "file:line: problem. Fix:
// fix.", File relative to the workspace.
type Error struct {
	File    string
	Line    int
	Problem string
	Fix     string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d: %s. Fix: %s.", e.File, e.Line, e.Problem, e.Fix)
}

// NameError is an invalid service name, or one no service of the workspace
// has: a usage error (exit status 2).
type NameError struct {
	Problem string
	Fix     string
}

func (e *NameError) Error() string { return e.Problem + ". Fix: " + e.Fix }

// attrEnv maps the attributes of rococo_service that set a variable.
var attrEnv = map[string]string{
	"execution_type":   "EXECUTION_TYPE",
	"processor_type":   "PROCESSOR_TYPE",
	"messaging_type":   "MESSAGING_TYPE",
	"cron_time_amount": "CRON_TIME_AMOUNT",
	"cron_time_unit":   "CRON_TIME_UNIT",
	"cron_run_at":      "CRON_RUN_AT",
	"cron_expressions": "CRON_EXPRESSIONS",
	"run_at_startup":   "RUN_AT_STARTUP",
}

// Load reads services/<name>/BUILD.bazel of the workspace ws.
func Load(ws, name string) (*Service, error) {
	// Only the form is checked here: a reserved name is refused by rococo
	// new and reported by rococo check, but an existing service so named
	// still runs on the host.
	if !validName.MatchString(name) || len(name) > MaxNameLen {
		problem, _ := NameProblem(name)
		return nil, &NameError{Problem: problem, Fix: "give the name of a directory under services/: one of " + strings.Join(list(ws), ", ")}
	}
	dir := filepath.Join(ws, "services", name)
	if _, err := os.Stat(filepath.Join(dir, "BUILD.bazel")); errors.Is(err, fs.ErrNotExist) {
		return nil, &NameError{
			Problem: fmt.Sprintf("no service %s: services/%s/BUILD.bazel does not exist", name, name),
			Fix:     fmt.Sprintf("rococo new %s --type ..., or pick one of %s", name, strings.Join(list(ws), ", ")),
		}
	}
	return LoadDir(ws, dir)
}

// LoadDir reads the rococo_service of dir/BUILD.bazel, the one named after
// the directory.
func LoadDir(ws, dir string) (*Service, error) {
	name := filepath.Base(dir)
	path := filepath.Join(dir, "BUILD.bazel")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f, err := Parse(relPath(ws, path), data)
	if err != nil {
		return nil, err
	}
	for _, r := range f.Rules("rococo_service") {
		if r.Name() != name {
			continue
		}
		baked, err := bakedEnv(relPath(ws, path), r)
		if err != nil {
			return nil, err
		}
		return &Service{Name: name, Dir: dir, Workspace: ws, Baked: baked, BuildFile: path, Rule: r}, nil
	}
	return nil, fmt.Errorf("%s has no rococo_service(name = %q). Fix: declare the service with rococo_service (rococo new writes one)", relPath(ws, path), name)
}

// Parse parses a BUILD file; name is the path messages give. A syntax error
// reads "name:line:col: syntax error ... Fix: ...".
func Parse(name string, data []byte) (*build.File, error) {
	f, err := build.ParseBuild(name, data)
	if err != nil {
		return nil, fmt.Errorf("%s. Fix: correct the Starlark syntax there (Bazel reads %s the same way)", strings.TrimSuffix(strings.Join(strings.Fields(err.Error()), " "), "."), name)
	}
	return f, nil
}

// relPath is p relative to the workspace ws, for messages.
func relPath(ws, p string) string {
	if r, err := filepath.Rel(ws, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// list returns the services of the workspace, for messages.
func list(ws string) []string {
	matches, _ := filepath.Glob(filepath.Join(ws, "services", "*", "BUILD.bazel"))
	var names []string
	for _, m := range matches {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	slices.Sort(names)
	if len(names) == 0 {
		return []string{"(none)"}
	}
	return names
}

// bakedEnv is the image env of r, as rules/private/validate.bzl's image_env
// computes it.
func bakedEnv(path string, r *build.Rule) (map[string]string, error) {
	env, _, err := EnvAttr(path, r)
	if err != nil {
		return nil, err
	}
	et := r.AttrString("execution_type")
	if et == "" {
		et = "MESSAGING"
	}
	env["EXECUTION_TYPE"] = et
	for _, attr := range []string{"processor_type", "messaging_type"} {
		if v := r.AttrString(attr); v != "" {
			env[attrEnv[attr]] = v
		}
	}
	if et != "CRON" {
		return env, nil
	}
	for _, attr := range []string{"cron_time_amount", "cron_time_unit", "cron_run_at", "cron_expressions", "run_at_startup"} {
		e := r.Attr(attr)
		if e == nil {
			continue
		}
		v, err := value(e)
		if err != nil {
			line, _ := e.Span()
			return nil, &Error{File: path, Line: line.Line, Problem: fmt.Sprintf("%s: %v", attr, err), Fix: "write " + attr + " as a literal"}
		}
		if attr == "cron_time_unit" {
			v = strings.ToLower(v)
		}
		env[attrEnv[attr]] = v
	}
	return env, nil
}

// EnvAttr returns the env attribute of r, a dict literal of string
// literals, and the line of each entry; path names the file in errors
// (*Error).
func EnvAttr(path string, r *build.Rule) (env map[string]string, lines map[string]int, err error) {
	env, lines = map[string]string{}, map[string]int{}
	switch d := r.Attr("env").(type) {
	case nil:
	case *build.DictExpr:
		for _, kv := range d.List {
			k, kok := kv.Key.(*build.StringExpr)
			v, vok := kv.Value.(*build.StringExpr)
			line, _ := kv.Span()
			if !kok || !vok {
				return nil, nil, &Error{File: path, Line: line.Line, Problem: "env entries must be string literals for rococo check, dev and send (they read BUILD.bazel without Bazel)", Fix: `write the entry as "KEY": "value"`}
			}
			env[k.Value] = v.Value
			lines[k.Value] = line.Line
		}
	default:
		line, _ := d.Span()
		return nil, nil, &Error{File: path, Line: line.Line, Problem: "env must be a dict literal for rococo check, dev and send (they read BUILD.bazel without Bazel)", Fix: `write env = {"KEY": "value", ...} with every entry in it, not a variable or an expression`}
	}
	return env, lines, nil
}

// value is the env value of a literal attribute.
func value(e build.Expr) (string, error) {
	switch e := e.(type) {
	case *build.StringExpr:
		return strings.TrimSpace(e.Value), nil
	case *build.LiteralExpr:
		return e.Token, nil
	case *build.Ident:
		switch e.Name {
		case "True":
			return "true", nil
		case "False":
			return "false", nil
		}
	case *build.ListExpr:
		var parts []string
		for _, x := range e.List {
			s, ok := x.(*build.StringExpr)
			if !ok {
				return "", errors.New("want a list of string literals")
			}
			parts = append(parts, strings.TrimSpace(s.Value))
		}
		return strings.Join(parts, ","), nil
	}
	return "", errors.New("want a literal, for rococo to read it without Bazel")
}

// Environ returns the service's environment for a run on the host: the
// baked env, overridden by defaults (what `rococo dev` changes for
// development, such as APP_ENV), by .env then .env.local of the workspace,
// then of the service directory, then by environ (the real environment).
// Errors name the dotenv file.
func (s *Service) Environ(defaults map[string]string, environ []string) ([]string, error) {
	m := map[string]string{}
	for k, v := range s.Baked {
		m[k] = v
	}
	for k, v := range defaults {
		m[k] = v
	}
	for _, dir := range []string{s.Workspace, s.Dir} {
		for _, name := range []string{".env", ".env.local"} {
			p := filepath.Join(dir, name)
			f, err := godotenv.Read(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("read dotenv file %s: invalid syntax (want NAME=value lines)", p)
			}
			for k, v := range f {
				m[k] = v
			}
		}
	}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out, nil
}
