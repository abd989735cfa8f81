package settings

import (
	"bytes"
	"fmt"
	"strings"
)

// unset is a variable a template names that has no value and no default.
type unset struct {
	line int
	name string
}

// render expands the templates of one settings file, line by line so that
// line numbers stay those of the file: `{{ VAR }}` is the value of VAR,
// `{{ VAR|default('x') }}` (or `d('x')`, `default("x")`, `default(8080)`,
// `default(true)`) falls back to the literal when VAR is unset or empty, and
// `{# ... #}` is a comment. Templates inside YAML comments are left as they
// are (Band's configs comment out examples such as `# key: {{ KEY }}`).
// Anything else in braces, `{% ... %}` tags included, is an error.
//
// Variables without a value and without a default are rendered empty and
// returned, so that the caller can name the key they belong to; every other
// problem is an *Error.
func render(file string, src []byte, lookup func(string) (string, bool)) ([]byte, []unset, error) {
	var out bytes.Buffer
	out.Grow(len(src))
	var missing []unset
	for n, line := range bytes.SplitAfter(src, []byte("\n")) {
		lineNo := n + 1
		code, comment := splitComment(string(line))
		rest := code
		for {
			i := strings.IndexByte(rest, '{')
			if i < 0 || i+1 >= len(rest) {
				out.WriteString(rest)
				break
			}
			out.WriteString(rest[:i])
			switch rest[i+1] {
			case '{':
				end := strings.Index(rest[i+2:], "}}")
				if end < 0 {
					return nil, nil, &Error{File: file, Line: lineNo, Problem: "a {{ template is not closed by }} on the same line"}
				}
				expr := rest[i+2 : i+2+end]
				v, name, err := eval(expr, lookup)
				if err != nil {
					return nil, nil, &Error{File: file, Line: lineNo, Problem: fmt.Sprintf("template {{%s}}: %v", expr, err)}
				}
				if name != "" {
					missing = append(missing, unset{line: lineNo, name: name})
				}
				if strings.ContainsAny(v, "\r\n") {
					return nil, nil, &Error{File: file, Line: lineNo, Problem: fmt.Sprintf("template {{%s}}: the value has a line break; settings templates take one-line values (quote it in the environment without newlines, or put it in the file)", expr)}
				}
				out.WriteString(v)
				rest = rest[i+2+end+2:]
			case '#':
				end := strings.Index(rest[i+2:], "#}")
				if end < 0 {
					return nil, nil, &Error{File: file, Line: lineNo, Problem: "a {# comment is not closed by #} on the same line"}
				}
				rest = rest[i+2+end+2:]
			case '%':
				return nil, nil, &Error{File: file, Line: lineNo, Problem: "{% ... %} template tags are not supported: only {{ VAR }} and {{ VAR|default('value') }}"}
			default:
				out.WriteByte('{')
				rest = rest[i+1:]
			}
		}
		out.WriteString(comment)
	}
	return out.Bytes(), missing, nil
}

// splitComment splits a YAML line before its comment: a # at the start of
// the line or after a space or tab, outside quotes and outside templates
// (Jinja reads the file before YAML does).
func splitComment(line string) (code, comment string) {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '{' && i+1 < len(line) && (line[i+1] == '{' || line[i+1] == '#') {
			closer := "}}"
			if line[i+1] == '#' {
				closer = "#}"
			}
			if end := strings.Index(line[i+2:], closer); end >= 0 {
				i += 2 + end + 1
				continue
			}
		}
		switch {
		case quote == '\'' && c == '\'':
			quote = 0
		case quote == '"' && c == '\\':
			i++
		case quote == '"' && c == '"':
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i], line[i:]
		}
	}
	return line, ""
}

// eval evaluates one template expression: a variable name followed by
// filters. It returns the value and, when the variable is unset and has no
// default, its name.
func eval(expr string, lookup func(string) (string, bool)) (value, missing string, err error) {
	parts := splitFilters(expr)
	name := strings.TrimSpace(parts[0])
	if !isIdent(name) {
		return "", "", fmt.Errorf("%q is not a variable name (letters, digits and _)", name)
	}
	v, _ := lookup(name)
	isSet := v != "" // empty counts as unset, as for every variable of the runtime
	for _, f := range parts[1:] {
		def, err := parseDefault(strings.TrimSpace(f))
		if err != nil {
			return "", "", err
		}
		if !isSet {
			v, isSet = def, true
		}
	}
	if !isSet {
		return "", name, nil
	}
	return v, "", nil
}

// splitFilters splits an expression at the | outside quotes.
func splitFilters(expr string) []string {
	var parts []string
	var quote byte
	start := 0
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"':
			quote = c
		case c == '|':
			parts = append(parts, expr[start:i])
			start = i + 1
		}
	}
	return append(parts, expr[start:])
}

// parseDefault parses default(LITERAL) or d(LITERAL), with Jinja's optional
// second argument (true also replaces empty values, which the runtime counts
// as unset anyway), and returns the literal's text.
func parseDefault(f string) (string, error) {
	name, args, ok := strings.Cut(f, "(")
	name = strings.TrimSpace(name)
	if name != "default" && name != "d" {
		return "", fmt.Errorf("filter %q is not supported: only default('value')", name)
	}
	if !ok || !strings.HasSuffix(args, ")") {
		return "", fmt.Errorf("write the filter as default('value')")
	}
	args = strings.TrimSpace(strings.TrimSuffix(args, ")"))
	lit, rest, err := literal(args)
	if err != nil {
		return "", err
	}
	if rest = strings.TrimSpace(rest); rest != "" {
		second := strings.TrimSpace(strings.TrimPrefix(rest, ","))
		if !strings.HasPrefix(rest, ",") || (second != "true" && second != "false" && second != "True" && second != "False") {
			return "", fmt.Errorf("default takes a value and an optional true or false, not %q", args)
		}
	}
	return lit, nil
}

// literal reads a Jinja literal at the start of s: a quoted string, a
// number, true/false or none. It returns its text as Jinja prints it.
func literal(s string) (text, rest string, err error) {
	if s == "" {
		return "", "", fmt.Errorf("default needs a value, such as default('x')")
	}
	if q := s[0]; q == '\'' || q == '"' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\' && i+1 < len(s):
				i++
				b.WriteByte(s[i])
			case c == q:
				return b.String(), s[i+1:], nil
			default:
				b.WriteByte(c)
			}
		}
		return "", "", fmt.Errorf("the string %s is not closed", s)
	}
	end := strings.IndexAny(s, ", ")
	if end < 0 {
		end = len(s)
	}
	word := s[:end]
	switch word {
	case "true", "True":
		return "True", s[end:], nil
	case "false", "False":
		return "False", s[end:], nil
	case "none", "None":
		return "None", s[end:], nil
	}
	if isNumber(word) {
		return word, s[end:], nil
	}
	return "", "", fmt.Errorf("%q is not a literal: quote strings, as in default('%s')", word, word)
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}
