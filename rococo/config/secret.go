package config

import "log/slog"

// Secret is a configuration value that must never be logged: a password, an
// access key or a token. fmt and log/slog print it as "[redacted]"; Reveal
// returns the value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]", or "" when the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// LogValue implements slog.LogValuer: the value is redacted.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps encoders such as encoding/json from writing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
