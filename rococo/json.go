package rococo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// Bodies are JSON in Python's dialect: Python's json.dumps writes the floats
// nan, inf and -inf as the bare words NaN, Infinity and -Infinity, and
// json.loads reads them back, so a Python producer can send them to a Python
// consumer. ValidJSON, CheckJSON and Message.Decode accept them too; Decode
// decodes them as Python does, as floats (math.NaN(), math.Inf(1),
// math.Inf(-1)).

// ValidJSON reports whether body is one JSON value in Python's dialect:
// standard JSON (RFC 8259), where NaN, Infinity and -Infinity may also
// stand as numbers.
func ValidJSON(body []byte) bool {
	if json.Valid(body) {
		return true
	}
	std, ok := standardJSON(body)
	return ok && json.Valid(std)
}

// CheckJSON returns nil when body is valid JSON (see ValidJSON), else an
// error saying where it is not: a publisher sends only JSON, as Python
// rococo's send_message does with json.dumps, because a Python consumer
// fails on anything else.
func CheckJSON(body []byte) error {
	if ValidJSON(body) {
		return nil
	}
	std, _ := standardJSON(body)
	var v any
	err := json.Unmarshal(std, &v)
	var se *json.SyntaxError
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return errors.New("body is not valid JSON: it is empty; send a JSON value such as {} (Python rococo's consumers fail on anything else)")
	case errors.As(err, &se):
		return fmt.Errorf("body is not valid JSON: %v (at byte %d); send a JSON value, for example json.Marshal's output (Python rococo's consumers fail on anything else)", se, se.Offset)
	default:
		return fmt.Errorf("body is not valid JSON: %v; send a JSON value, for example json.Marshal's output (Python rococo's consumers fail on anything else)", err)
	}
}

// Stand-ins for NaN, Infinity and -Infinity while encoding/json decodes a
// body: finite numbers that float32 represents exactly (so they decode
// into float32 and float64 fields alike) and that real data is unlikely to
// hold, replaced by the real values after decoding.
var (
	standInNaN    = float64(math.Nextafter32(math.MaxFloat32, 0))
	standInPosInf = float64(math.Nextafter32(float32(standInNaN), 0))
	standInNegInf = -standInPosInf
)

var pythonWords = []struct {
	word    []byte
	standIn []byte
	value   float64
}{
	{[]byte("-Infinity"), []byte(strconv.FormatFloat(standInNegInf, 'g', -1, 64)), math.Inf(-1)},
	{[]byte("Infinity"), []byte(strconv.FormatFloat(standInPosInf, 'g', -1, 64)), math.Inf(1)},
	{[]byte("NaN"), []byte(strconv.FormatFloat(standInNaN, 'g', -1, 64)), math.NaN()},
}

// standardJSON returns body with every NaN, Infinity and -Infinity that
// stands where a value may (outside strings, a whole word) replaced by its
// stand-in, and whether there was any.
func standardJSON(body []byte) ([]byte, bool) {
	if !bytes.Contains(body, []byte("NaN")) && !bytes.Contains(body, []byte("Infinity")) {
		return body, false
	}
	out := make([]byte, 0, len(body)+32)
	found := false
	inString, escaped := false, false
	for i := 0; i < len(body); {
		c := body[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			out = append(out, c)
			i++
			continue
		}
		if c == '"' {
			inString = true
			out = append(out, c)
			i++
			continue
		}
		replaced := false
		if i == 0 || isDelimiter(body[i-1]) {
			for _, w := range pythonWords {
				end := i + len(w.word)
				if bytes.HasPrefix(body[i:], w.word) && (end == len(body) || isDelimiter(body[end])) {
					out = append(out, w.standIn...)
					i = end
					replaced, found = true, true
					break
				}
			}
		}
		if !replaced {
			out = append(out, c)
			i++
		}
	}
	return out, found
}

// isDelimiter reports whether c may stand next to a JSON value.
func isDelimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', '[', ']', '{', '}':
		return true
	}
	return false
}

// unmarshalPython decodes body (Python's dialect) into v.
func unmarshalPython(body []byte, v any) error {
	std, found := standardJSON(body)
	if !found {
		return json.Unmarshal(body, v)
	}
	if err := json.Unmarshal(std, v); err != nil {
		return err
	}
	restoreFloats(reflect.ValueOf(v))
	return nil
}

// restoreFloats replaces the stand-ins in v by the floats they stand for.
func restoreFloats(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			restoreFloats(v.Elem())
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if f, ok := restored(e); ok && v.CanSet() {
			v.Set(reflect.ValueOf(f).Convert(e.Type()))
			return
		}
		if e.Kind() == reflect.Pointer {
			restoreFloats(e)
			return
		}
		c := reflect.New(e.Type()).Elem()
		c.Set(e)
		restoreFloats(c)
		if v.CanSet() {
			v.Set(c)
		}
	case reflect.Float32, reflect.Float64:
		if f, ok := restored(v); ok && v.CanSet() {
			v.SetFloat(f)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			restoreFloats(v.Index(i))
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			c := reflect.New(iter.Value().Type()).Elem()
			c.Set(iter.Value())
			restoreFloats(c)
			v.SetMapIndex(iter.Key(), c)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				restoreFloats(v.Field(i))
			}
		}
	}
}

// restored returns the float a stand-in stands for.
func restored(v reflect.Value) (float64, bool) {
	if v.Kind() != reflect.Float32 && v.Kind() != reflect.Float64 {
		return 0, false
	}
	switch v.Float() {
	case standInNaN:
		return math.NaN(), true
	case standInPosInf:
		return math.Inf(1), true
	case standInNegInf:
		return math.Inf(-1), true
	}
	return 0, false
}
