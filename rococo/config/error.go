package config

import (
	"fmt"
	"strings"
)

// Error is an invalid or missing configuration value.
type Error struct {
	Var      string // the variable, e.g. "RABBITMQ_PORT"
	Value    string // the value it had ("" when unset)
	Accepted string // what is accepted, e.g. "a port number 1-65535"
}

// Error returns one line: `invalid VAR="value": want accepted`, or
// `missing VAR: want accepted` for an unset required variable. A variable
// read from a file (Var "VAR in FILE", see Env.Error) reads
// `invalid VAR="value" in FILE: want accepted`, the value next to its
// name. Control characters in the value are escaped by %q, so the line
// stays one line.
func (e *Error) Error() string {
	accepted := strings.ReplaceAll(e.Accepted, "\n", " ")
	if e.Value == "" {
		return fmt.Sprintf("missing %s: want %s", e.Var, accepted)
	}
	if name, file, ok := strings.Cut(e.Var, " in "); ok {
		return fmt.Sprintf("invalid %s=%q in %s: want %s", name, e.Value, file, accepted)
	}
	return fmt.Sprintf("invalid %s=%q: want %s", e.Var, e.Value, accepted)
}
