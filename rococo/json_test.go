package rococo

import (
	"math"
	"strings"
	"testing"
)

func TestValidJSON(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{`{"a":1}`, true},
		{`NaN`, true},
		{`Infinity`, true},
		{`-Infinity`, true},
		{`{"x": NaN, "y": [Infinity, -Infinity]}`, true},
		{`{"s": "NaN Infinity"}`, true},
		{`{"s": "a \" NaN"}`, true},
		{`nan`, false},
		{`{"x": NaNx}`, false},
		{`{"x": -NaN}`, false},
		{`{"x": +Infinity}`, false},
		{`{NaN: 1}`, false},
		{`not json`, false},
		{``, false},
		{`{"a":1}{"b":2}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			if got := ValidJSON([]byte(tt.body)); got != tt.want {
				t.Errorf("ValidJSON(%q) = %v, want %v", tt.body, got, tt.want)
			}
			err := CheckJSON([]byte(tt.body))
			if (err == nil) != tt.want {
				t.Errorf("CheckJSON(%q) = %v, want valid %v", tt.body, err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "not valid JSON") {
				t.Errorf("CheckJSON(%q) = %q, want it to say the body is not valid JSON", tt.body, err)
			}
		})
	}
}

// TestDecodePythonFloats: NaN, Infinity and -Infinity decode as Python's
// json.loads decodes them, into floats, wherever floats may be.
func TestDecodePythonFloats(t *testing.T) {
	body := `{"nan": NaN, "inf": Infinity, "ninf": -Infinity, "f32": Infinity, "p": NaN,
		"list": [1.5, NaN, -Infinity], "m": {"k": Infinity}, "any": [NaN, {"deep": -Infinity}], "s": "NaN", "n": 2}`
	var v struct {
		NaN  float64            `json:"nan"`
		Inf  float64            `json:"inf"`
		NInf float64            `json:"ninf"`
		F32  float32            `json:"f32"`
		P    *float64           `json:"p"`
		List []float64          `json:"list"`
		M    map[string]float64 `json:"m"`
		Any  any                `json:"any"`
		S    string             `json:"s"`
		N    int                `json:"n"`
	}
	m := &Message{ID: "id", Queue: "q", Body: []byte(body)}
	if err := m.Decode(&v); err != nil {
		t.Fatalf("Decode = %v", err)
	}
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"nan", v.NaN, math.NaN()}, {"inf", v.Inf, math.Inf(1)}, {"ninf", v.NInf, math.Inf(-1)},
		{"f32", float64(v.F32), math.Inf(1)}, {"list[0]", v.List[0], 1.5}, {"list[1]", v.List[1], math.NaN()},
		{"list[2]", v.List[2], math.Inf(-1)}, {"m.k", v.M["k"], math.Inf(1)},
	}
	if v.P != nil {
		checks = append(checks, struct {
			name      string
			got, want float64
		}{"p", *v.P, math.NaN()})
	} else {
		t.Error("p is nil")
	}
	anyList, _ := v.Any.([]any)
	if len(anyList) == 2 {
		f, _ := anyList[0].(float64)
		checks = append(checks, struct {
			name      string
			got, want float64
		}{"any[0]", f, math.NaN()})
		deep, _ := anyList[1].(map[string]any)
		d, _ := deep["deep"].(float64)
		checks = append(checks, struct {
			name      string
			got, want float64
		}{"any[1].deep", d, math.Inf(-1)})
	} else {
		t.Errorf("any = %#v", v.Any)
	}
	for _, c := range checks {
		same := c.got == c.want || (math.IsNaN(c.got) && math.IsNaN(c.want))
		if !same {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if v.S != "NaN" || v.N != 2 {
		t.Errorf("s = %q, n = %d: strings and other numbers must be untouched", v.S, v.N)
	}
	// Into an int field, NaN fails as it does in Python's int(): a permanent
	// decode error.
	var bad struct {
		N int `json:"n"`
	}
	if err := (&Message{Body: []byte(`{"n": NaN}`)}).Decode(&bad); err == nil || !IsPermanent(err) {
		t.Errorf("Decode NaN into int = %v, want a permanent error", err)
	}
}
