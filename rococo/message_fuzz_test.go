package rococo

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzMessageDecode checks Message.Decode on any body: it never panics, it
// fails into an `any` for every invalid body and for valid ones only on a
// number out of range, and every failure is permanent (so the runtime
// dead-letters it instead of retrying).
func FuzzMessageDecode(f *testing.F) {
	for _, seed := range []string{
		`{"to":"a@b.c","n":1}`, `[]`, `null`, `"s"`, `1e400`, `{"a":`, ``, `{"a":1}{"b":2}`,
		"\xff\xfe", `{"a":"\ud800"}`, `  {"nested":{"deep":[1,2,{"x":null}]}}  `, `{"n":"not a number"}`,
		`NaN`, `{"x": NaN, "y": Infinity, "z": -Infinity}`, `[NaN,-Infinity]`, `{"s":"NaN"}`, `NaNa`, `{"x":-NaN}`,
		`{"x":Infinityy}`, `{"NaN":1}`, `[1,NaN`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m := &Message{ID: "id", Queue: "q", Body: body}
		var v any
		err := m.Decode(&v)
		// Valid JSON (Python's dialect, NaN and Infinity included) can
		// still fail to decode into any: a number beyond float64's range
		// (1e400) is an *json.UnmarshalTypeError.
		var typeErr *json.UnmarshalTypeError
		switch valid := ValidJSON(body); {
		case err == nil && !valid:
			t.Fatalf("Decode(any) of invalid JSON %q succeeded", body)
		case err != nil && valid && !errors.As(err, &typeErr):
			t.Fatalf("Decode(any) of valid JSON %q = %v", body, err)
		}
		if (CheckJSON(body) == nil) != ValidJSON(body) {
			t.Fatalf("CheckJSON(%q) = %v, ValidJSON = %v", body, CheckJSON(body), ValidJSON(body))
		}
		var typed struct {
			To string `json:"to"`
			N  int    `json:"n"`
		}
		for _, err := range []error{err, m.Decode(&typed)} {
			if err != nil && !IsPermanent(err) {
				t.Fatalf("Decode error %v is not permanent", err)
			}
			var pe *PermanentError
			if err != nil && (!errors.As(err, &pe) || pe.Err == nil) {
				t.Fatalf("Decode error %v does not wrap its cause", err)
			}
		}
	})
}
