package lib

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Settings are geo_band's settings: config.yaml, then custom.yaml, rendered
// with the environment (see the service's README).
type Settings struct {
	// DataFile is a CSV of start,end,country,city ranges; "" serves the
	// built-in sample.
	DataFile string `yaml:"data_file"`
	// Refresh is how often the load worker reads DataFile again.
	Refresh time.Duration `yaml:"refresh"`
	// StatsFile is where the flush_hits cleanup writes the hit counts at
	// shutdown (JSON); "" only logs them.
	StatsFile string `yaml:"stats_file"`
	// MaxBulk is the most addresses one POST /lookup takes.
	MaxBulk int `yaml:"max_bulk"`
	// Links are the short links GET /go/{code} redirects to.
	Links map[string]string `yaml:"links"`
	// Debug serves /debug/sleep and /debug/panic, which show how the
	// runtime answers a timeout and a panic.
	Debug bool `yaml:"debug"`
}

// DefaultSettings are the settings without any file.
func DefaultSettings() Settings {
	return Settings{Refresh: 10 * time.Minute, MaxBulk: 100}
}

// Validate checks the values the files gave (the runtime calls it at start:
// an error stops the service with exit status 2).
func (s *Settings) Validate() error {
	var errs []error
	if s.Refresh <= 0 {
		errs = append(errs, fmt.Errorf("refresh is %v: want a positive duration such as 10m", s.Refresh))
	}
	if s.MaxBulk < 1 {
		errs = append(errs, fmt.Errorf("max_bulk is %d: want at least 1", s.MaxBulk))
	}
	for code, link := range s.Links {
		if u, err := url.Parse(link); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("links.%s is %q: want an absolute URL such as https://example.com/", code, link))
		}
	}
	return errors.Join(errs...)
}
