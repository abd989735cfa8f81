package band

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/rococo-go/rococo/rococo/config"
)

// A binder fills one input type from a request, as Band fills a handler's
// arguments: the query, then the body (JSON, or a form), then the path's
// wildcards, a later source replacing an earlier one. It is built once per
// handler at registration; binding a request only follows the field
// indexes found then.
type binder struct {
	typ    reflect.Type
	fields []bindField
	byName map[string]int // json name -> index in fields
	paths  []pathBind
	// wildcards are the pattern's wildcard names, for Request.Params.
	wildcards []string
	// request is the index of an embedded band.Request, nil when the input
	// has none.
	request []int
}

// maxFields is the most bindable fields an input may have (the binder
// tracks, per source, which fields a source set in a uint64).
const maxFields = 64

type bindField struct {
	name  string // the json name
	index []int
	set   setter
	// multi: a slice of a type set from a string; each value of a source
	// appends, a later source with the name replaces the list.
	multi bool
	// empty: an empty value is a value (strings, bools, any); for other
	// types an empty value (?n=) leaves the field alone.
	empty bool
	typ   reflect.Type
	// wildcard is the path wildcard that sets the field, "" for none.
	wildcard string
}

type pathBind struct {
	wildcard string
	field    int // index in fields
}

// setter sets v from one string; its error says what is accepted.
type setter func(v reflect.Value, s string) error

var (
	requestType     = reflect.TypeFor[Request]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// newBinder returns the binder of struct type t for a pattern with the
// given wildcards; every wildcard needs a field of its name (unless the
// input embeds Request, whose Params has them all).
func newBinder(t reflect.Type, wildcards []string) (*binder, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("the input type %s is not a struct: take a struct whose fields have json names, such as struct{ IP string `json:\"ip\"` } (struct{} for none)", t)
	}
	b := &binder{typ: t, byName: map[string]int{}, wildcards: wildcards}
	if err := b.collect(t, nil); err != nil {
		return nil, err
	}
	if len(b.fields) > maxFields {
		return nil, fmt.Errorf("the input type %s has %d bindable fields, more than %d: group some into a nested struct sent as JSON", t, len(b.fields), maxFields)
	}
	for _, w := range wildcards {
		i, ok := b.byName[w]
		if !ok {
			if b.request != nil {
				continue
			}
			return nil, fmt.Errorf("the path wildcard {%s} has no field in %s: add a field such as %s string `json:\"%s\"`", w, t, exportedName(w), w)
		}
		b.paths = append(b.paths, pathBind{wildcard: w, field: i})
		b.fields[i].wildcard = w
	}
	return b, nil
}

func exportedName(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// collect adds the fields of t (at index) as encoding/json sees them:
// exported fields under their json names, embedded structs' fields
// promoted, `json:"-"` left out.
func (b *binder) collect(t reflect.Type, index []int) error {
	for i := range t.NumField() {
		f := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous {
			ft := f.Type
			if ft == requestType {
				b.request = idx
				continue
			}
			if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct && name == "" {
				return fmt.Errorf("%s embeds *%s: embed it by value (%s), so that binding needs no allocation of it", t, ft.Elem(), ft.Elem())
			}
			if ft.Kind() == reflect.Struct && name == "" {
				if err := b.collect(ft, idx); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		set, multi, err := setterFor(f.Type)
		if err != nil {
			return fmt.Errorf("field %s.%s: %w", t, f.Name, err)
		}
		if i, dup := b.byName[name]; dup {
			// As encoding/json: the shallower field wins, two at the same
			// depth are a mistake.
			switch prev := len(b.fields[i].index); {
			case prev < len(idx):
				continue
			case prev == len(idx):
				return fmt.Errorf("two fields of %s bind the name %q: give one another json name", b.typ, name)
			}
		}
		elem := f.Type
		if multi {
			elem = elem.Elem()
		}
		for elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
		bf := bindField{
			name: name, index: idx, set: set, multi: multi, typ: f.Type,
			empty: elem.Kind() == reflect.String || elem.Kind() == reflect.Bool || elem.Kind() == reflect.Interface,
		}
		if i, dup := b.byName[name]; dup {
			b.fields[i] = bf // a shallower field replaces one of an embedded struct
			continue
		}
		b.byName[name] = len(b.fields)
		b.fields = append(b.fields, bf)
	}
	return nil
}

// setterFor returns how a field of type t is set from a string; multi
// reports a slice whose values are set one by one.
func setterFor(t reflect.Type) (s setter, multi bool, err error) {
	if t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 && !reflect.PointerTo(t).Implements(textUnmarshaler) {
		if elem, err := scalarSetter(t.Elem()); err == nil && !isJSONKind(t.Elem()) {
			et := t.Elem()
			return func(v reflect.Value, s string) error {
				e := reflect.New(et).Elem()
				if err := elem(e, s); err != nil {
					return err
				}
				v.Set(reflect.Append(v, e))
				return nil
			}, true, nil
		}
	}
	s, err = scalarSetter(t)
	return s, false, err
}

// isJSONKind reports types that are set by decoding the string as JSON.
func isJSONKind(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return false
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Array, reflect.Slice:
		return !(t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8)
	}
	return false
}

func scalarSetter(t reflect.Type) (setter, error) {
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return func(v reflect.Value, s string) error {
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				return fmt.Errorf("want a valid %s (%v)", t, err)
			}
			return nil
		}, nil
	}
	if t == durationType {
		return func(v reflect.Value, s string) error {
			d, ok := config.ParseDuration(s)
			if !ok {
				return errors.New("want a duration of 0 or more, such as 30s, 1m30s or a number of seconds")
			}
			v.SetInt(int64(d))
			return nil
		}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return func(v reflect.Value, s string) error { v.SetString(s); return nil }, nil
	case reflect.Bool:
		return func(v reflect.Value, s string) error {
			if s == "" { // ?flag
				v.SetBool(true)
				return nil
			}
			b, ok := config.ParseBool(s)
			if !ok {
				return errors.New("want true or false (or 1/0, yes/no, on/off)")
			}
			v.SetBool(b)
			return nil
		}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			n, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return fmt.Errorf("want a whole number (%d-bit)", bits)
			}
			v.SetInt(n)
			return nil
		}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			n, err := strconv.ParseUint(s, 10, bits)
			if err != nil {
				return fmt.Errorf("want a whole number, 0 or more (%d-bit)", bits)
			}
			v.SetUint(n)
			return nil
		}, nil
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			f, err := strconv.ParseFloat(s, bits)
			if err != nil {
				return errors.New("want a number")
			}
			v.SetFloat(f)
			return nil
		}, nil
	case reflect.Pointer:
		elem, err := scalarSetter(t.Elem())
		if err != nil {
			return nil, err
		}
		et := t.Elem()
		return func(v reflect.Value, s string) error {
			p := reflect.New(et)
			if err := elem(p.Elem(), s); err != nil {
				return err
			}
			v.Set(p)
			return nil
		}, nil
	case reflect.Interface:
		if t.NumMethod() > 0 {
			return nil, fmt.Errorf("type %s is an interface with methods: a string cannot be bound to it", t)
		}
		return func(v reflect.Value, s string) error { v.Set(reflect.ValueOf(s)); return nil }, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(v reflect.Value, s string) error { v.SetBytes([]byte(s)); return nil }, nil
		}
		fallthrough
	case reflect.Struct, reflect.Map, reflect.Array:
		// Structured values come as JSON: ?filter={"country":"FR"}.
		return func(v reflect.Value, s string) error {
			if err := json.Unmarshal([]byte(s), v.Addr().Interface()); err != nil {
				return fmt.Errorf("want JSON for %s", t)
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("type %s cannot be bound from a request: use a string, number, bool, duration, a type with UnmarshalText, or a struct, map or slice sent as JSON", t)
}

// input is what the serving goroutine read of a request for the binder;
// binding reads nothing from the connection, so it may run in the
// handler's own goroutine.
type input struct {
	req  *http.Request
	kind bodyKind
	body []byte
	form map[string][]string // a multipart form's values
	info *requestInfo        // when the input embeds Request
}

type bodyKind int

const (
	noBody bodyKind = iota
	jsonBody
	formBody
	multipartBody
	otherBody // kept for Request.Body only
)

// source names where a value came from, in error messages.
type source string

const (
	fromQuery source = "the query"
	fromForm  source = "the form"
	fromPath  source = "the path"
)

// bind fills dst (an addressable value of b.typ) from in.
func (b *binder) bind(dst reflect.Value, in *input) error {
	if b.request != nil {
		in.info = &requestInfo{http: in.req, body: in.body, params: map[string]any{}}
		dst.FieldByIndex(b.request).Set(reflect.ValueOf(Request{r: in.info}))
	}
	if q := in.req.URL.RawQuery; q != "" {
		if err := b.pairs(dst, q, fromQuery, in); err != nil {
			return err
		}
	}
	switch in.kind {
	case jsonBody:
		if err := b.bindJSON(dst, in); err != nil {
			return err
		}
	case formBody:
		if err := b.pairs(dst, string(in.body), fromForm, in); err != nil {
			return err
		}
	case multipartBody:
		var set uint64
		for k, vs := range in.form {
			for _, v := range vs {
				if err := b.set(dst, k, v, fromForm, &set, in); err != nil {
					return err
				}
			}
		}
	}
	for _, p := range b.paths {
		f := &b.fields[p.field]
		v := in.req.PathValue(p.wildcard)
		if err := b.setField(dst, f, v, fromPath, true); err != nil {
			return err
		}
	}
	if in.info != nil {
		for _, w := range b.wildcards {
			in.info.params[w] = in.req.PathValue(w)
		}
	}
	return nil
}

// pairs binds the key=value pairs of a URL-encoded query or form.
func (b *binder) pairs(dst reflect.Value, s string, from source, in *input) error {
	var set uint64 // fields this source set (a multi field's first value replaces)
	for s != "" {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err1 := unescape(k)
		v, err2 := unescape(v)
		if err1 != nil || err2 != nil {
			if i, ok := b.byName[k]; ok && err1 == nil && b.pathSets(&b.fields[i], in.req) {
				continue // the path's value replaces this one
			}
			return badInput(k, "%s is not valid URL encoding (%q)", from, truncate(kv))
		}
		if err := b.set(dst, k, v, from, &set, in); err != nil {
			return err
		}
	}
	return nil
}

func unescape(s string) (string, error) {
	if strings.ContainsAny(s, "%+") {
		return url.QueryUnescape(s)
	}
	return s, nil
}

// set binds one value of name; names without a field only reach
// Request.Params. A value that does not convert is no error for a field
// that the path sets, since the path's value replaces it.
func (b *binder) set(dst reflect.Value, name, v string, from source, set *uint64, in *input) error {
	if in.info != nil {
		in.info.params[name] = v
	}
	i, ok := b.byName[name]
	if !ok {
		return nil
	}
	f := &b.fields[i]
	first := *set&(1<<i) == 0
	*set |= 1 << i
	if err := b.setField(dst, f, v, from, first); err != nil {
		if b.pathSets(f, in.req) {
			return nil
		}
		return err
	}
	return nil
}

// pathSets reports whether a path wildcard of r sets f, replacing what the
// query or the body gave (an empty value sets only the fields that take
// one).
func (b *binder) pathSets(f *bindField, r *http.Request) bool {
	return f.wildcard != "" && (f.empty || r.PathValue(f.wildcard) != "")
}

// setField sets field f of dst to v; first is the source's first value for
// a multi field, which replaces what an earlier source set.
func (b *binder) setField(dst reflect.Value, f *bindField, v string, from source, first bool) error {
	if v == "" && !f.empty {
		return nil
	}
	fv := dst.FieldByIndex(f.index)
	if f.multi && first {
		fv.SetLen(0)
	}
	if err := f.set(fv, v); err != nil {
		return badInput(f.name, "invalid %s %q in %s: %v", f.name, truncate(v), from, err)
	}
	return nil
}

// bindJSON decodes a JSON body over dst: its fields replace what the query
// set; keys without a field are left out (they reach Request.Params).
func (b *binder) bindJSON(dst reflect.Value, in *input) error {
	if err := json.Unmarshal(in.body, dst.Addr().Interface()); err != nil {
		return b.jsonFailed(dst, in, err)
	}
	if in.info != nil {
		var m map[string]any
		if json.Unmarshal(in.body, &m) == nil {
			for k, v := range m {
				in.info.params[k] = v
			}
		}
	}
	return nil
}

// jsonFailed is bindJSON's error path, which the decoding of a good body
// never takes. encoding/json names the field of a type mismatch but returns
// the error of a value's UnmarshalText or UnmarshalJSON as it is, so the
// body's members are decoded one by one, in order, to find the field of
// that error. The members the path sets are left out first and the rest
// decoded again: the path's value replaces theirs, so they are no error.
func (b *binder) jsonFailed(dst reflect.Value, in *input, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || len(b.paths) == 0 && errors.As(err, &te) {
		return jsonError(err)
	}
	// json.Unmarshal checks the syntax before it decodes: the body is valid
	// JSON.
	members, ok := jsonMembers(in.body)
	if !ok {
		return jsonError(err) // not an object
	}
	if len(b.paths) > 0 {
		kept := members[:0:0]
		for _, m := range members {
			if f := b.fieldOfKey(m.key); f == nil || !b.pathSets(f, in.req) {
				kept = append(kept, m)
			}
		}
		if len(kept) < len(members) {
			members = kept
			// What the first pass set, these members set again: over it,
			// this pass gives what one pass without the others gives.
			if err = json.Unmarshal(jsonObject(kept), dst.Addr().Interface()); err == nil {
				return nil
			}
		}
	}
	if errors.As(err, &te) {
		return jsonError(err)
	}
	// A value's own decoding failed (and stopped encoding/json): the first
	// member that fails alone, other than by a type mismatch, is the one.
	for _, m := range members {
		f := b.fieldOfKey(m.key)
		if f == nil {
			continue
		}
		if t, raw, err := culprit(f.typ, m.value); err != nil {
			return badInput(f.name, "invalid %s %s in the JSON body: want a valid %s (%v)", f.name, shownJSON(raw), t, err)
		}
	}
	return jsonError(err)
}

// fieldOfKey returns the field a JSON body's key decodes into, matched as
// encoding/json matches: the exact json name, else one that differs only by
// case; nil for none.
func (b *binder) fieldOfKey(key string) *bindField {
	if i, ok := b.byName[key]; ok {
		return &b.fields[i]
	}
	for i := range b.fields {
		if strings.EqualFold(b.fields[i].name, key) {
			return &b.fields[i]
		}
	}
	return nil
}

// member is a key and its raw value in a JSON object.
type member struct {
	key   string
	value json.RawMessage
}

// jsonMembers splits a valid JSON object into its members, in order
// (repeated keys kept); ok is false when body is not an object.
func jsonMembers(body []byte) (members []member, ok bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	for d.More() {
		t, err := d.Token()
		key, isKey := t.(string)
		if err != nil || !isKey {
			return nil, false
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, false
		}
		members = append(members, member{key: key, value: v})
	}
	return members, true
}

// shownJSON is a JSON value for an error message: compact, truncated.
func shownJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		raw = b.Bytes()
	}
	return truncate(string(raw))
}

// jsonObject is the JSON object of members.
func jsonObject(members []member) []byte {
	out := []byte{'{'}
	for i, m := range members {
		if i > 0 {
			out = append(out, ',')
		}
		k, _ := json.Marshal(m.key)
		out = append(append(append(out, k...), ':'), m.value...)
	}
	return append(out, '}')
}

// culprit decodes raw into a new value of type t and, when that fails other
// than by a type mismatch, returns the innermost value at fault and its
// type: a list's element, a map's value, the type behind a pointer, down to
// a type that decodes itself (UnmarshalJSON or UnmarshalText).
func culprit(t reflect.Type, raw json.RawMessage) (reflect.Type, json.RawMessage, error) {
	err := json.Unmarshal(raw, reflect.New(t).Interface())
	var te *json.UnmarshalTypeError
	if err == nil || errors.As(err, &te) {
		return nil, nil, nil
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler) {
		return t, raw, err
	}
	switch t.Kind() {
	case reflect.Pointer:
		return culprit(t.Elem(), raw)
	case reflect.Slice, reflect.Array:
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) == nil {
			for _, e := range elems {
				if et, eraw, err := culprit(t.Elem(), e); err != nil {
					return et, eraw, err
				}
			}
		}
	case reflect.Map:
		if members, ok := jsonMembers(raw); ok {
			for _, m := range members {
				if et, eraw, err := culprit(t.Elem(), m.value); err != nil {
					return et, eraw, err
				}
			}
		}
	}
	return t, raw, err
}

// jsonError turns a JSON decoding error into a 400 naming the field.
func jsonError(err error) *Error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return badInput("", "the JSON body must be an object of the input's fields, not a JSON %s", te.Value)
	case errors.As(err, &te):
		return badInput(te.Field, "invalid %s in the JSON body: want %s, not a JSON %s", te.Field, jsonWant(te.Type), te.Value)
	case errors.As(err, &se):
		return badInput("", "the body is not valid JSON: %v (at byte %d)", se, se.Offset)
	}
	return badInput("", "invalid JSON body: %v", err)
}

func jsonWant(t reflect.Type) string {
	if reflect.PointerTo(t).Implements(textUnmarshaler) && !reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return fmt.Sprintf("a valid %s as a string", t) // encoding/json gives it the string
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.String()
}

func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
