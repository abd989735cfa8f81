package stamp

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
)

// Values are workspace status values by key, such as STABLE_GIT_COMMIT.
type Values map[string]string

// Read reads Bazel workspace status files (stable-status.txt,
// volatile-status.txt): one "KEY VALUE" per line. A later file wins.
func Read(files ...string) (Values, error) {
	v := Values{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read stamp file: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			k, val, _ := bytes.Cut(sc.Bytes(), []byte(" "))
			if len(k) > 0 {
				v[string(k)] = string(val)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read stamp file %s: %w", f, err)
		}
	}
	return v, nil
}

var placeholder = regexp.MustCompile(`\{[A-Za-z0-9_]+\}`)

// HasPlaceholder reports whether s holds a {KEY} placeholder.
func HasPlaceholder(s string) bool { return placeholder.MatchString(s) }

// Substitute replaces each {KEY} placeholder in s with its value; ok is
// false when some placeholder has none (the build is not stamped, or the
// workspace status lacks the key).
func (v Values) Substitute(s string) (out string, ok bool) {
	ok = true
	out = placeholder.ReplaceAllStringFunc(s, func(p string) string {
		val, found := v[p[1:len(p)-1]]
		if !found {
			ok = false
		}
		return val
	})
	return out, ok
}
