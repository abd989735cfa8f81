package bus

import (
	"strings"
	"testing"
)

func TestParsePattern(t *testing.T) {
	tests := []struct {
		in, binding, err string
	}{
		{in: "in.gen.track", binding: "in.gen.track.#"},
		{in: "in.gen.*.hit", binding: "in.gen.*.hit"},
		{in: "#", binding: "#"},
		{in: "in.#", binding: "in.#"},
		{in: "", err: "is empty"},
		{in: "in..gen", err: "empty word (word 2)"},
		{in: "in.gen.", err: "empty word (word 3)"},
		{in: "in.ge*", err: `the word "ge*"`},
		{in: "in.#x", err: `the word "#x"`},
		{in: strings.Repeat("a", 254), err: "at most 255"},
		{in: strings.Repeat("a", 253), binding: strings.Repeat("a", 253) + ".#"},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePattern(%q) error = %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tt.in, err)
			continue
		}
		if p.String() != tt.binding {
			t.Errorf("ParsePattern(%q) binds %q, want %q", tt.in, p.String(), tt.binding)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern string
		key     string
		want    bool
	}{
		{"in.gen.track", "in.gen.track", true},
		{"in.gen.track", "in.gen.track.hit", true},
		{"in.gen.track", "in.gen.tracker.hit", false},
		{"in.gen.track", "in.gen", false},
		{"in.gen.*.hit", "in.gen.track.hit", true},
		{"in.gen.*.hit", "in.gen.hit", false},
		{"in.gen.*.hit", "in.gen.a.b.hit", false},
		{"in.#.hit", "in.hit", true},
		{"in.#.hit", "in.gen.track.hit", true},
		{"in.#.hit", "in.gen.track.hits", false},
		{"#", "", true},
		{"#", "a.b.c", true},
		{"*", "a", true},
		{"*", "a.b", false},
		{"*", "", true}, // the empty key is one empty word
		{"#.*", "a", true},
		{"#.*", "", true},
		{"*.#.*", "a", false},
		{"*.#.*", "a.b", true},
		{"#.#", "a.b", true},
		{"a.*.#", "a", false},
		{"a.*.#", "a.b", true},
		{"a.*", "a..", false},
		{"a.*.*", "a..", true},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.pattern)
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", tt.pattern, err)
		}
		if got := p.Match(tt.key); got != tt.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}

func TestZeroPatternMatchesNothing(t *testing.T) {
	if (Pattern{}).Match("") || (Pattern{}).Match("in.gen.a.b") {
		t.Fatal("the zero Pattern matched")
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		service, name, want, err string
	}{
		{service: "track", name: "hit", want: "in.gen.track.hit"},
		{service: "", name: "hit", err: "service is empty"},
		{service: "track", name: "", err: "name is empty"},
		{service: "tr.ack", name: "hit", err: `service "tr.ack"`},
		{service: "track", name: "h#t", err: `name "h#t"`},
	}
	for _, tt := range tests {
		got, err := Key(tt.service, tt.name)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Key(%q, %q) error = %v, want one containing %q", tt.service, tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Key(%q, %q) = %q, %v; want %q", tt.service, tt.name, got, err, tt.want)
		}
	}
}
