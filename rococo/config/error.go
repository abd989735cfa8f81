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
// `missing VAR: want accepted` for an unset required variable. Control
// characters in the value are escaped by %q, so the line stays one line.
func (e *Error) Error() string {
	accepted := strings.ReplaceAll(e.Accepted, "\n", " ")
	if e.Value == "" {
		return fmt.Sprintf("missing %s: want %s", e.Var, accepted)
	}
	return fmt.Sprintf("invalid %s=%q: want %s", e.Var, e.Value, accepted)
}
