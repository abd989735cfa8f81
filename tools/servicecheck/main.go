// Command servicecheck is the build action of rococo_service that checks the
// image's env with the runtime's own validation (rules/private/envcheck.bzl):
//
//	servicecheck --label //services/x:x --package services/x --out ok.txt --env K=V ...
//
// It writes --out when the env is valid; otherwise it prints the problem,
// "<label>: <problem>. Fix: <fix>.", and exits 1, failing the build.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rococo-go/rococo/tools/internal/cli"
	"github.com/rococo-go/rococo/tools/internal/servicecheck"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("servicecheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	label := fs.String("label", "", "the service's label, as messages name it")
	pkg := fs.String("package", "", "the service's package, such as services/x")
	out := fs.String("out", "", "the file written when the env is valid")
	var env cli.Strings
	fs.Var(&env, "env", "a KEY=VALUE of the image's env; repeatable")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *label == "" || *pkg == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: servicecheck --label LABEL --package PKG --out FILE [--env KEY=VALUE ...]")
		return 2
	}
	m := map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			fmt.Fprintf(stderr, "servicecheck: --env %q is not KEY=VALUE\n", kv)
			return 2
		}
		m[k] = v
	}
	if problem := servicecheck.Env(*label, *pkg, m); problem != "" {
		fmt.Fprintln(stderr, problem)
		return 1
	}
	if err := os.WriteFile(*out, []byte(*label+": the image's env passes the runtime's validation\n"), 0o644); err != nil {
		fmt.Fprintf(stderr, "servicecheck: write %s: %v\n", *out, err)
		return 1
	}
	return 0
}
