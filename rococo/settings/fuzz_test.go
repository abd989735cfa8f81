package settings

import (
	"bytes"
	"testing"
)

// FuzzRender: any file renders or fails with an *Error, never a panic; text
// without braces comes out unchanged, and rendering keeps the line count.
func FuzzRender(f *testing.F) {
	f.Add([]byte("a: {{ A|default('x') }}\n# b: {{ B }}\nc: \"{{ C | d(\"y\") }}\" {# note #}\n"))
	f.Add([]byte("{% raw %}\n{{\n{#\n"))
	f.Add([]byte("k: '{{ A }}' # {{ B }}\n"))
	lookup := func(k string) (string, bool) {
		if k == "A" {
			return "1", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, _, err := render("f.yaml", src, lookup)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("render error %T %v, want *Error", err, err)
			}
			return
		}
		if !bytes.ContainsRune(src, '{') && !bytes.Equal(out, src) {
			t.Fatalf("render(%q) = %q, want it unchanged", src, out)
		}
		if bytes.Count(out, []byte("\n")) != bytes.Count(src, []byte("\n")) {
			t.Fatalf("render(%q) = %q changed the line count", src, out)
		}
	})
}
