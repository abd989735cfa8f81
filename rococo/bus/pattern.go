package bus

import (
	"fmt"
	"strings"
)

// maxKeyLen is AMQP's limit on a routing key (a short string).
const maxKeyLen = 255

// Pattern is a listener's or an enricher's key pattern with the broker's
// topic rules: words separated by '.', '*' matching exactly one word, '#'
// zero or more. A pattern without a wildcard is a Band prefix key: it
// matches the key itself and every key below it ("in.gen.track" is
// "in.gen.track.#"). The zero Pattern matches nothing.
type Pattern struct {
	binding string   // what is bound on the exchange
	words   []string // binding split on '.'
}

// ParsePattern checks p and returns its Pattern. Every word must be
// non-empty and either '*', '#' or free of both; the binding must fit the
// broker's 255 bytes.
func ParsePattern(p string) (Pattern, error) {
	if p == "" {
		return Pattern{}, fmt.Errorf("the key pattern is empty: use words separated by '.', such as in.gen.track or in.gen.*.hit")
	}
	words := strings.Split(p, ".")
	wild := false
	for i, w := range words {
		switch {
		case w == "":
			return Pattern{}, fmt.Errorf("the key pattern %q has an empty word (word %d): remove the extra '.'", p, i+1)
		case w == "*" || w == "#":
			wild = true
		case strings.ContainsAny(w, "*#"):
			return Pattern{}, fmt.Errorf("the key pattern %q has the word %q: '*' and '#' match whole words only, write them between dots", p, w)
		}
	}
	if !wild {
		words = append(words, "#")
	}
	binding := strings.Join(words, ".")
	if len(binding) > maxKeyLen {
		return Pattern{}, fmt.Errorf("the key pattern %q is %d bytes bound: the broker takes at most %d", p, len(binding), maxKeyLen)
	}
	return Pattern{binding: binding, words: words}, nil
}

// String returns the binding key: the pattern as the broker binds it.
func (p Pattern) String() string { return p.binding }

// Match reports whether the broker routes key to a queue bound with p.
func (p Pattern) Match(key string) bool {
	if p.words == nil {
		return false
	}
	kw := strings.Split(key, ".")
	// cur[j]: the pattern's first i words match the key's first j words.
	cur := make([]bool, len(kw)+1)
	next := make([]bool, len(kw)+1)
	cur[0] = true
	for _, w := range p.words {
		clear(next)
		switch w {
		case "#":
			reach := false
			for j := range cur {
				reach = reach || cur[j]
				next[j] = reach
			}
		case "*":
			for j := 1; j <= len(kw); j++ {
				next[j] = cur[j-1]
			}
		default:
			for j := 1; j <= len(kw); j++ {
				next[j] = cur[j-1] && kw[j-1] == w
			}
		}
		cur, next = next, cur
	}
	return cur[len(kw)]
}

// ParsePatterns parses each of ps; the error names the first bad one.
func ParsePatterns(ps []string) ([]Pattern, error) {
	out := make([]Pattern, 0, len(ps))
	for _, p := range ps {
		pt, err := ParsePattern(p)
		if err != nil {
			return nil, err
		}
		out = append(out, pt)
	}
	return out, nil
}

// MatchAny reports whether any of ps matches key.
func MatchAny(ps []Pattern, key string) bool {
	for _, p := range ps {
		if p.Match(key) {
			return true
		}
	}
	return false
}
