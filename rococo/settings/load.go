package settings

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The settings files, read in this order from the working directory; keys
// of a later file win. Band's own code reads custom.yml (its docs say
// custom.yaml): either name is accepted, both at once is an error.
const (
	ConfigFile = "config.yaml"
	CustomFile = "custom.yaml"
	customYML  = "custom.yml"
)

// Options configure Load.
type Options struct {
	// Dir holds the files; "" is the working directory.
	Dir string
	// Lookup returns the value of a variable for the templates: the
	// service's merged environment (the process environment over
	// .env.local over .env). Empty values count as unset. Nil has no
	// variables.
	Lookup func(string) (string, bool)
	// Reserved are top-level keys that the runtime reads itself (Band's
	// name and listen): accepted whether or not the struct declares them.
	// Read them with Document.Lookup.
	Reserved []string
}

// Document is what Load read: the files and the merged keys.
type Document struct {
	files  []string
	root   *yaml.Node // the merged top-level mapping; nil without files
	origin map[*yaml.Node]string
}

// Files returns the names of the files read, in order (none when neither
// exists).
func (d *Document) Files() []string { return d.files }

// Lookup returns the rendered value of a top-level scalar key, such as a
// reserved one; ok is false when the key is absent or not a scalar.
func (d *Document) Lookup(key string) (value string, ok bool) {
	if _, v := d.find(key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value, true
	}
	return "", false
}

// Errorf returns an *Error about a top-level key, at its file and line (a
// reserved key's value the runtime does not accept).
func (d *Document) Errorf(key, format string, args ...any) *Error {
	e := &Error{File: ConfigFile, Key: key, Problem: fmt.Sprintf(format, args...)}
	if k, _ := d.find(key); k != nil {
		e.File, e.Line = d.origin[k], k.Line
	}
	return e
}

func (d *Document) find(key string) (k, v *yaml.Node) {
	if d.root == nil {
		return nil, nil
	}
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		if d.root.Content[i].Value == key {
			k, v = d.root.Content[i], d.root.Content[i+1]
		}
	}
	return k, v
}

// Load reads config.yaml, then custom.yaml (or custom.yml), from o.Dir,
// renders each with o.Lookup, merges them and decodes the result into dst,
// a pointer to the service's settings struct (nil when the service has
// none: then only reserved keys are accepted). Missing files are no error:
// fields keep the values dst had. Keys are matched as gopkg.in/yaml.v3
// matches them (the yaml tag, else the field name in lower case); every key
// must be a field, every value must suit its field's type.
//
// Once decoded, a dst with a Validate() error method is checked with it
// (its error becomes an *Error naming the files). Problems with the files
// are *Error, one line each, naming the file, the line and the key; a dst
// that is not a pointer to a struct is a plain error.
func Load(dst any, o Options) (*Document, error) {
	var t reflect.Type
	if dst != nil {
		t = reflect.TypeOf(dst)
		if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct || reflect.ValueOf(dst).IsNil() {
			return nil, fmt.Errorf("settings: decode into %T: want a non-nil pointer to a struct", dst)
		}
		t = t.Elem()
	}
	lookup := o.Lookup
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	names, err := fileNames(o.Dir)
	if err != nil {
		return nil, err
	}
	d := &Document{origin: map[*yaml.Node]string{}}
	for _, name := range names {
		root, err := d.read(filepath.Join(o.Dir, name), name, lookup)
		if err != nil {
			return nil, err
		}
		if root == nil {
			continue
		}
		d.files = append(d.files, name)
		if d.root == nil {
			d.root = root
		} else {
			merge(d.root, root)
		}
	}
	if d.root == nil {
		return d, validate(dst, nil)
	}
	c := checker{origin: d.origin, reserved: map[string]bool{}}
	for _, k := range o.Reserved {
		c.reserved[k] = true
	}
	if err := c.top(d.root, t); err != nil {
		return nil, err
	}
	if dst != nil {
		if err := d.root.Decode(dst); err != nil {
			return nil, d.yamlError(err)
		}
	}
	return d, validate(dst, d.files)
}

// validate calls dst's Validate method, if it has one, once the files are
// decoded (and also without files: the defaults must be valid too).
func validate(dst any, files []string) error {
	v, ok := dst.(interface{ Validate() error })
	if !ok {
		return nil
	}
	if err := v.Validate(); err != nil {
		name := ConfigFile
		if len(files) > 0 {
			name = strings.Join(files, " + ")
		}
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		return &Error{File: name, Problem: err.Error()}
	}
	return nil
}

// fileNames returns the settings files present in dir, in reading order.
func fileNames(dir string) ([]string, error) {
	var names []string
	for _, group := range [][]string{{ConfigFile}, {CustomFile, customYML}} {
		var found []string
		for _, name := range group {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				found = append(found, name)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, &Error{File: name, Problem: fmt.Sprintf("cannot read it: %v", err)}
			}
		}
		if len(found) > 1 {
			return nil, &Error{File: found[1], Problem: fmt.Sprintf("both %s and %s exist: keep one (they are the same file under Band's two names)", found[0], found[1])}
		}
		names = append(names, found...)
	}
	return names, nil
}

// read renders and parses one file; it returns its top-level mapping, nil
// for a file without content.
func (d *Document) read(path, name string, lookup func(string) (string, bool)) (*yaml.Node, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: name, Problem: fmt.Sprintf("cannot read it: %v", err)}
	}
	text, missing, err := render(name, src, lookup)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		e := parseError(name, err)
		if len(missing) > 0 && missing[0].line <= e.Line {
			// An unset variable rendered empty may be what breaks the YAML.
			return nil, unsetError(name, missing[0], "")
		}
		return nil, e
	}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if len(missing) > 0 {
		return nil, unsetError(name, missing[0], keyAt(root, missing[0].line))
	}
	if root == nil || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: root.Line, Problem: "the file must hold keys (key: value lines), not " + kindName(root)}
	}
	if err := duplicates(name, root, ""); err != nil {
		return nil, err
	}
	walk(root, func(n *yaml.Node) { d.origin[n] = name })
	return root, nil
}

// duplicates reports a key that appears twice in one mapping of a file (the
// merge would keep one of them silently).
func duplicates(file string, n *yaml.Node, path string) error {
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := join(path, k.Value)
			if line, dup := seen[k.Value]; dup && k.Tag != "!!merge" {
				return &Error{File: file, Line: k.Line, Key: p, Problem: fmt.Sprintf("the key appears twice (also at line %d). Fix: keep one", line)}
			}
			seen[k.Value] = k.Line
			if err := duplicates(file, n.Content[i+1], p); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := duplicates(file, c, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func unsetError(file string, u unset, key string) *Error {
	return &Error{File: file, Line: u.line, Key: key, Problem: fmt.Sprintf(
		"{{ %s }} is not set and has no default. Fix: set %s in the environment (or .env, .env.local), or give a default: {{ %s|default('...') }}",
		u.name, u.name, u.name)}
}

var lineRE = regexp.MustCompile(`line (\d+): (.*)`)

// parseError turns a YAML syntax error into an *Error at its line.
func parseError(file string, err error) *Error {
	e := &Error{File: file, Problem: "invalid YAML: " + err.Error()}
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Problem = "invalid YAML: " + m[2]
	}
	return e
}

// yamlError turns an error of the final decoding (which the checker should
// have caught first) into an *Error.
func (d *Document) yamlError(err error) *Error {
	e := parseError(d.files[0], err)
	e.Problem = "cannot decode the settings: " + e.Problem
	return e
}

// merge merges the mapping src into the mapping dst: keys of src win,
// mappings under the same key merge, anything else is replaced.
func merge(dst, src *yaml.Node) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		j := indexKey(dst, k.Value)
		switch {
		case j < 0:
			dst.Content = append(dst.Content, k, v)
		case dst.Content[j+1].Kind == yaml.MappingNode && v.Kind == yaml.MappingNode:
			merge(dst.Content[j+1], v)
		default:
			dst.Content[j], dst.Content[j+1] = k, v
		}
	}
}

func indexKey(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func walk(n *yaml.Node, f func(*yaml.Node)) {
	f(n)
	for _, c := range n.Content {
		walk(c, f)
	}
}

// keyAt returns the dotted path of the key whose entry is at line, "" when
// none is.
func keyAt(n *yaml.Node, line int) string {
	if n == nil {
		return ""
	}
	best := ""
	var visit func(n *yaml.Node, path string)
	visit = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := join(path, k.Value)
				if k.Line == line || v.Line == line {
					best = p
				}
				visit(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Line == line && c.Kind == yaml.ScalarNode {
					best = p
				}
				visit(c, p)
			}
		}
	}
	visit(n, "")
	return best
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("the value %q", n.Value)
}
