package cli

import "strings"

// Strings is a repeatable string flag: each occurrence appends its value.
//
//	var tags cli.Strings
//	fs.Var(&tags, "tag", "a tag; repeatable")
type Strings []string

// String returns the values joined by commas.
func (s *Strings) String() string { return strings.Join(*s, ",") }

// Set appends v.
func (s *Strings) Set(v string) error { *s = append(*s, v); return nil }
