package settings

import (
	"fmt"
	"strings"
)

// Error is a problem in a settings file: a template that does not render,
// YAML that does not parse, a key the service does not know or a value of
// the wrong type. Its message is one line naming the file, the line and the
// key, such as
//
//	config.yaml:7: db.port: "abc" is not a whole number (the field is int)
type Error struct {
	File string // the file's name, such as "config.yaml"
	Line int    // 1-based; 0 when the problem is not at a line
	// Key is the dotted path of the key, such as "db.port" or
	// "servers[1].host"; "" when the problem is not at a key.
	Key     string
	Problem string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(strings.Join(strings.Fields(e.Problem), " "))
	return b.String()
}
