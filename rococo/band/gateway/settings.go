package gateway

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of the gateway's settings.
const (
	DefaultEnrichTimeout  = 200 * time.Millisecond // Band's front budget
	DefaultHandlerTimeout = 5 * time.Second
	DefaultPublishTimeout = 5 * time.Second
)

// Settings are the gateway's settings (services/front's config.yaml).
type Settings struct {
	// EnrichTimeout is the one deadline of all the enrichers of a hit:
	// answers that arrive later are left out and recorded as timeouts.
	EnrichTimeout time.Duration `yaml:"enrich_timeout"`
	// HandlerTimeout bounds a handler call when the handler announces no
	// timeout of its own (band.Timeout).
	HandlerTimeout time.Duration `yaml:"handler_timeout"`
	// PublishTimeout bounds the confirmed publish of the enriched event.
	PublishTimeout time.Duration `yaml:"publish_timeout"`
	// TrustForwarded takes the client's address from the first
	// X-Forwarded-For address (behind a proxy that sets it) instead of the
	// connection's.
	TrustForwarded bool `yaml:"trust_forwarded"`
}

// DefaultSettings are the settings without any file.
func DefaultSettings() Settings {
	return Settings{EnrichTimeout: DefaultEnrichTimeout, HandlerTimeout: DefaultHandlerTimeout, PublishTimeout: DefaultPublishTimeout}
}

// Validate checks the durations.
func (s *Settings) Validate() error {
	var errs []error
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"enrich_timeout", s.EnrichTimeout}, {"handler_timeout", s.HandlerTimeout}, {"publish_timeout", s.PublishTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s is %v: want a positive duration such as 200ms", d.key, d.v))
		}
	}
	return errors.Join(errs...)
}
