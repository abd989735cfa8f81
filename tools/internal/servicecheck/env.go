package servicecheck

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/rococo-go/rococo/rococo/config"
)

// attrs maps the variables rococo_service sets from its own attributes to
// those attributes; other variables come from its env attribute.
var attrs = map[string]string{
	"CRON_EXPRESSIONS": "cron_expressions",
	"CRON_RUN_AT":      "cron_run_at",
	"CRON_TIME_AMOUNT": "cron_time_amount",
	"CRON_TIME_UNIT":   "cron_time_unit",
	"EXECUTION_TYPE":   "execution_type",
	"MESSAGING_TYPE":   "messaging_type",
	"PROCESSOR_TYPE":   "processor_type",
	"RUN_AT_STARTUP":   "run_at_startup",
}

// Attribute returns the rococo_service attribute that sets the variable key,
// or "" when the service's env attribute sets it.
func Attribute(key string) string { return attrs[key] }

// placeholderQueue stands for a queue name given at deploy time.
const placeholderQueue = "queue-given-at-run-time"

// Env validates the env baked into the image of the service label (in
// package pkg, such as services/x) as the service validates it at start, and
// returns the problem, "" when there is none. A variable the runtime needs
// but the image may get at deploy time (the queue name) is not required;
// one that is set must be valid.
func Env(label, pkg string, env map[string]string) string {
	if p := EnvProblem(pkg, env); p != "" {
		return label + ": " + p
	}
	return ""
}

// EnvProblem is Env without the label: "<problem>. Fix: <fix>.", for
// messages that name the file and line instead (rococo check).
func EnvProblem(pkg string, env map[string]string) string {
	environ := make([]string, 0, len(env)+1)
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		environ = append(environ, k+"="+env[k])
	}
	if pt := env["PROCESSOR_TYPE"]; pt != "" && env[pt+"_QUEUE_NAME"] == "" {
		environ = append(environ, pt+"_QUEUE_NAME="+placeholderQueue)
	}
	_, err := config.Load(environ, "")
	problem, _ := Explain(pkg, err)
	return problem
}

// Explain turns an error of the runtime's validation into "<problem>.
// Fix: <fix>." naming the attribute or env entry of pkg/BUILD.bazel to
// change, and returns the variable the error is about ("" when it names
// none). A nil error gives "".
func Explain(pkg string, err error) (problem, variable string) {
	if err == nil {
		return "", ""
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		return fmt.Sprintf("the image's env is refused: %v. Fix: correct env in %s/BUILD.bazel.", err, pkg), ""
	}
	where := fmt.Sprintf("env[%q]", ce.Var)
	if a, ok := attrs[ce.Var]; ok {
		where = a
	}
	if ce.Value == "" {
		return fmt.Sprintf("the service would exit at start with: %v. Fix: set %s in %s/BUILD.bazel.", ce, where, pkg), ce.Var
	}
	return fmt.Sprintf("the service would exit at start with: %v. Fix: correct %s in %s/BUILD.bazel.", ce, where, pkg), ce.Var
}

// secretMarkers are parts of env keys that mark a credential, as
// rules/private/validate.bzl refuses them in an image.
var secretMarkers = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "ACCESS_KEY", "PRIVATE_KEY", "API_KEY", "APIKEY", "CREDENTIAL"}

// SecretMarker returns the secret marker in the env key, "" for none.
func SecretMarker(key string) string {
	up := strings.ToUpper(key)
	for _, m := range secretMarkers {
		if strings.Contains(up, m) {
			return m
		}
	}
	return ""
}
