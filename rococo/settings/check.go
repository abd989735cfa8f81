package settings

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// checker walks the merged settings against the Go type they decode into,
// so that an unknown key or a value of the wrong type is reported with its
// file, line and key path (yaml.v3's Node.Decode has no strict mode, and its
// errors name neither the file nor the key).
type checker struct {
	origin   map[*yaml.Node]string
	reserved map[string]bool
}

var (
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
	timeType        = reflect.TypeFor[time.Time]()
)

// top checks the top-level mapping; t is nil when the service declared no
// settings struct.
func (c checker) top(root *yaml.Node, t reflect.Type) error {
	if t == nil {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i]; !c.reserved[k.Value] {
				return c.errorf(k, k.Value, "the service declares no settings, so the key is unknown. Fix: remove it, or give the service a settings struct (band.Settings) with a field for it")
			}
		}
		return nil
	}
	return c.check(root, t, "", true)
}

func (c checker) errorf(n *yaml.Node, key, format string, args ...any) *Error {
	return &Error{File: c.origin[n], Line: n.Line, Key: key, Problem: fmt.Sprintf(format, args...)}
}

func (c checker) check(n *yaml.Node, t reflect.Type, path string, top bool) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return c.check(n.Alias, t, path, top)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // null leaves the field as it is
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(yamlUnmarshaler) || (n.Kind == yaml.ScalarNode && pt.Implements(textUnmarshaler)) {
		return c.decode(n, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == timeType {
			return c.decode(n, t, path)
		}
		if n.Kind != yaml.MappingNode {
			return c.errorf(n, path, "want keys (a mapping) for %s, not %s", t, kindName(n))
		}
		return c.mapping(n, fieldsOf(t), path, top)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return c.errorf(n, path, "want a mapping (key: value lines), not %s", kindName(n))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if err := c.decode(k, t.Key(), p); err != nil {
				return err
			}
			if err := c.check(v, t.Elem(), p, false); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return c.errorf(n, path, "want a list (lines starting with -, or [a, b]), not %s", kindName(n))
		}
		if t.Kind() == reflect.Array && len(n.Content) > t.Len() {
			return c.errorf(n, path, "want at most %d items, not %d", t.Len(), len(n.Content))
		}
		for i, e := range n.Content {
			if err := c.check(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), false); err != nil {
				return err
			}
		}
		return nil
	case reflect.Interface:
		return nil // any value
	}
	return c.decode(n, t, path)
}

// mapping checks the keys of a mapping decoded into a struct.
func (c checker) mapping(n *yaml.Node, fs fields, path string, top bool) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" && k.Tag == "!!merge" {
			if err := c.merged(v, fs, path, top); err != nil {
				return err
			}
			continue
		}
		p := join(path, k.Value)
		ft, ok := fs.byName[k.Value]
		switch {
		case ok:
		case fs.inlineMap != nil:
			ft = fs.inlineMap
		case top && c.reserved[k.Value]:
			continue
		default:
			return c.errorf(k, p, "unknown key. Fix: remove it, or add a field with `yaml:%q` to %s (its keys: %s)", k.Value, fs.typ, strings.Join(fs.names, ", "))
		}
		if err := c.check(v, ft, p, false); err != nil {
			return err
		}
	}
	return nil
}

// merged checks the value of a YAML merge key (<<: *alias).
func (c checker) merged(v *yaml.Node, fs fields, path string, top bool) error {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		return c.mapping(v, fs, path, top)
	case yaml.SequenceNode:
		for _, e := range v.Content {
			if err := c.merged(e, fs, path, top); err != nil {
				return err
			}
		}
	}
	return nil
}

// decode checks a value of a type the checker does not descend into by
// decoding it into a fresh value of that type.
func (c checker) decode(n *yaml.Node, t reflect.Type, path string) error {
	err := n.Decode(reflect.New(t).Interface())
	if err == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return c.errorf(n, path, "want %s, not %s", describe(t), kindName(n))
	}
	if pt := reflect.PointerTo(t); pt.Implements(yamlUnmarshaler) || pt.Implements(textUnmarshaler) {
		return c.errorf(n, path, "%q is not a valid %s: %v", n.Value, t, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return c.errorf(n, path, "%q is not %s (the field is %s)", n.Value, describe(t), t)
}

// describe says in words what a value of t looks like.
func describe(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 30s, 1m30s or 250ms"
	case t == timeType:
		return "a time such as 2026-01-02T15:04:05Z"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a " + t.String()
}

// fields are the keys of a struct, as yaml.v3 maps them.
type fields struct {
	typ       reflect.Type
	byName    map[string]reflect.Type
	names     []string     // sorted, for messages
	inlineMap reflect.Type // value type of an ",inline" map: any other key goes there
}

func fieldsOf(t reflect.Type) fields {
	fs := fields{typ: t, byName: map[string]reflect.Type{}}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, inline, ok := yamlKey(f)
			if !ok {
				continue
			}
			if inline {
				ft := f.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				switch ft.Kind() {
				case reflect.Struct:
					add(ft)
				case reflect.Map:
					fs.inlineMap = ft.Elem()
				}
				continue
			}
			fs.byName[name] = f.Type
			fs.names = append(fs.names, name)
		}
	}
	add(t)
	slices.Sort(fs.names)
	return fs
}

// yamlKey returns the key of a struct field as yaml.v3 maps it: the yaml
// tag's name, else the field name in lower case; inline for ",inline"
// (then name is ""); ok is false for a field yaml.v3 leaves out.
func yamlKey(f reflect.StructField) (name string, inline, ok bool) {
	tag := f.Tag.Get("yaml")
	if tag == "-" || (!f.IsExported() && !f.Anonymous) {
		return "", false, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if slices.Contains(strings.Split(opts, ","), "inline") {
		return "", true, true
	}
	if !f.IsExported() {
		return "", false, false
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, false, true
}
