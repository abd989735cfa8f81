package config

import "regexp"

var (
	nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	hostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9\-_.]*[A-Za-z0-9])?$`)
)

// validName reports whether s can be a Go type name (PROCESSOR_TYPE).
func validName(s string) bool { return nameRE.MatchString(s) }

// ValidHost reports whether s is a host name or an IPv4 address (callers
// accept IPv6 literals through net.ParseIP).
func ValidHost(s string) bool { return len(s) <= 253 && hostRE.MatchString(s) }
