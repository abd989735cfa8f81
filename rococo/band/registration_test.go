package band_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/settings"
)

type IPIn struct {
	IP string `json:"ip"`
}

func lookup(context.Context, IPIn) (string, error) { return "", nil }

type geo struct{}

func (geo) Lookup(context.Context, IPIn) (string, error) { return "", nil }

func (geo) LookupHTTPMany(context.Context, IPIn) (string, error) { return "", nil }

func nop(context.Context) error { return nil }

func TestConfigure_reports_registration_mistakes(t *testing.T) {
	type chanIn struct {
		C chan int `json:"c"`
	}
	type embedPtr struct {
		*IPIn
	}
	tests := []struct {
		name     string
		register func(s *band.Service)
		want     string
	}{
		{"duplicate route", func(s *band.Service) {
			band.Handle(s, "GET /lookup/{ip}", lookup)
			band.Handle(s, "GET /lookup/{ip}", geo{}.Lookup)
		}, "band: lookup: GET /lookup/{ip} is served by the handler lookup already. Fix: change the pattern or its method."},
		{"duplicate name", func(s *band.Service) {
			band.Handle(s, "lookup", lookup)
			s.Worker("lookup", nop)
		}, "band: lookup: the name is taken by a handler registered before. Fix: give each function its own name (band.Name for a handler)."},
		{"overlapping patterns", func(s *band.Service) {
			band.Handle(s, "GET /items/{ip}", lookup, band.Name("item"))
			band.Handle(s, "GET /{ip}/first", lookup, band.Name("first"))
		}, `band: first: the pattern "GET /{ip}/first" overlaps "GET /items/{ip}" of the handler item: both would serve some requests. Fix: make one pattern more specific (a trailing / serves the whole subtree: write "GET /{$}" for the root alone; /healthz, /readyz, /metrics and /status are the runtime's).`},
		{"a root subtree pattern shadows the runtime's paths", func(s *band.Service) {
			band.Handle(s, "GET /", lookup, band.Name("index"))
		}, `band: index: the pattern "GET /" overlaps "{reserved}" of the runtime: both would serve some requests. Fix: make one pattern more specific (a trailing / serves the whole subtree: write "GET /{$}" for the root alone; /healthz, /readyz, /metrics and /status are the runtime's).`},
		{"a reserved name", func(s *band.Service) {
			band.Handle(s, "status", lookup)
		}, `band: status: the pattern "GET /status" serves GET /status, the runtime's own path. Fix: choose another path: /healthz, /readyz, /metrics and /status are the runtime's.`},
		{"bad method", func(s *band.Service) {
			band.Handle(s, "get /x", lookup)
		}, `band: handler "get /x": "get" is not an HTTP method (upper case, such as GET or POST). Fix: write a bare name ("lookup"), a path ("/lookup/{ip}") or a method and a path ("GET /lookup/{ip}").`},
		{"bad wildcard", func(s *band.Service) {
			band.Handle(s, "GET /x/{ip", lookup)
		}, `band: lookup: pattern "GET /x/{ip": the segment "{ip" is not a wildcard {name} or {name...}. Fix: write wildcards as whole segments such as /lookup/{ip} or /files/{path...}.`},
		{"wildcard without a field", func(s *band.Service) {
			band.Handle(s, "GET /lookup/{addr}", lookup)
		}, "band: lookup: the path wildcard {addr} has no field in band_test.IPIn: add a field such as Addr string `json:\"addr\"`. Fix: change the input type as said."},
		{"input not a struct", func(s *band.Service) {
			band.Handle(s, "echo", func(context.Context, string) (string, error) { return "", nil })
		}, "band: echo: the input type string is not a struct: take a struct whose fields have json names, such as struct{ IP string `json:\"ip\"` } (struct{} for none). Fix: change the input type as said."},
		{"field that cannot bind", func(s *band.Service) {
			band.Handle(s, "echo", func(context.Context, chanIn) (string, error) { return "", nil })
		}, "band: echo: field band_test.chanIn.C: type chan int cannot be bound from a request: use a string, number, bool, duration, a type with UnmarshalText, or a struct, map or slice sent as JSON. Fix: change the input type as said."},
		{"embedded pointer", func(s *band.Service) {
			band.Handle(s, "echo", func(context.Context, embedPtr) (string, error) { return "", nil })
		}, "band: echo: band_test.embedPtr embeds *band_test.IPIn: embed it by value (band_test.IPIn), so that binding needs no allocation of it. Fix: change the input type as said."},
		{"nil handler", func(s *band.Service) {
			band.Handle[IPIn, string](s, "echo", nil)
		}, "band: echo: the handler's function is nil. Fix: pass a func(ctx context.Context, in In) (Out, error)."},
		{"bad timeout", func(s *band.Service) {
			band.Handle(s, "echo", lookup, band.Timeout(0))
		}, `band: handler "echo": band.Timeout(0s): want a positive duration. Fix: pass a valid value.`},
		{"bad name", func(s *band.Service) {
			band.Handle(s, "/a", lookup, band.Name("a.b"))
		}, `band: "a.b": the handler's name is not a word. Fix: name it with letters, digits, _ and - only.`},
		{"bad backoff", func(s *band.Service) {
			s.Worker("w", nop, band.Backoff(time.Second, time.Millisecond))
		}, "band: w: band.Backoff(1s, 1ms): want 0 < base <= max. Fix: pass a valid value."},
		{"bad crontab", func(s *band.Service) {
			s.Crontab("nightly", "every night", nop)
		}, `band: nightly: the crontab expression "every night" does not parse. Fix: write a 5-field expression such as "*/5 * * * *" or "0 3 * * mon-fri".`},
		{"interval too short", func(s *band.Service) {
			s.Every("spin", time.Microsecond, nop)
		}, "band: spin: the interval 1µs is shorter than 1ms. Fix: pass a longer interval."},
		{"nil cleanup", func(s *band.Service) {
			s.Cleanup("flush", nil)
		}, "band: flush: the cleanup function is nil. Fix: pass a func(ctx context.Context) error."},
		{"Name in Defaults", func(*band.Service) {}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := band.New()
			if tc.want == "" {
				s = band.New(band.Defaults(band.Name("x")))
				tc.want = "band: band.Defaults: band.Name names one handler. Fix: pass band.Name to band.Handle."
			}
			tc.register(s)
			_, err := s.Configure("svc", t.TempDir(), config.Env{})
			var re *band.RegistrationError
			if !errors.As(err, &re) {
				t.Fatalf("Configure() error = %v, want a *band.RegistrationError", err)
			}
			// ServeMux names one of the reserved paths a pattern overlaps.
			got := regexp.MustCompile(`"/(healthz|readyz|metrics|status)"`).ReplaceAllString(err.Error(), `"{reserved}"`)
			if got != tc.want {
				t.Errorf("Configure() error =\n%s\nwant\n%s", err, tc.want)
			}
		})
	}
}

func TestHandle_names(t *testing.T) {
	s := band.New()
	band.Handle(s, "bare", lookup)
	band.Handle(s, "GET /a/{ip}", lookup)
	band.Handle(s, "GET /b/{ip}", geo{}.LookupHTTPMany)
	band.Handle(s, "GET /c/{ip}/d", func(context.Context, IPIn) (string, error) { return "", nil })
	band.Handle(s, "GET /{$}", func(context.Context, struct{}) (string, error) { return "", nil })
	if _, err := s.Configure("svc", t.TempDir(), config.Env{}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Runner(band.Runtime{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range r.Functions() {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "bare lookup lookup_http_many c_d index" {
		t.Errorf("names = %s, want bare lookup lookup_http_many c_d index", got)
	}
	// Registering after the start is a mistake too.
	s.Worker("late", nop)
	if _, err := s.Configure("svc", t.TempDir(), config.Env{}); err == nil || !strings.Contains(err.Error(), "late: registered after the service started") {
		t.Errorf("Configure() after a late registration = %v", err)
	}
}

type geoSettings struct {
	DataFile string        `yaml:"data_file"`
	Refresh  time.Duration `yaml:"refresh"`
	Token    config.Secret `yaml:"token"`
}

func TestConfigure_loads_settings(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("config.yaml", "name: {{ NAME }}\nenv: {{ ENV }}\nlisten: \"{{ HOST|default('0.0.0.0') }}:{{ PORT|default(8080) }}\"\ndata_file: {{ DATA|default('/data/geo.csv') }}\nrefresh: 1m\ntoken: '{{ TOKEN }}'\n")
	write("custom.yaml", "refresh: 5m\n")
	var got struct {
		geoSettings `yaml:",inline"`
		Env         string `yaml:"env"`
	}
	s := band.New(band.Settings(&got))
	setup, err := s.Configure("geo_band", dir, config.EnvMap(map[string]string{"PORT": "9090", "TOKEN": "s3cr3t"}))
	if err != nil {
		t.Fatalf("Configure() error = %v", err)
	}
	if got.DataFile != "/data/geo.csv" || got.Refresh != 5*time.Minute || got.Token.Reveal() != "s3cr3t" || got.Env != "development" {
		t.Errorf("settings = %+v", got)
	}
	if setup.Name != "geo_band" || setup.Listen != "0.0.0.0:9090" || strings.Join(setup.Files, ",") != "config.yaml,custom.yaml" {
		t.Errorf("setup = %+v", setup)
	}
	if v := setup.Settings.String(); strings.Contains(v, "s3cr3t") || !strings.Contains(v, "[redacted]") {
		t.Errorf("Settings = %s, want the token masked", v)
	}

	// A settings mistake is a *settings.Error naming file, line and key.
	write("custom.yaml", "refresh: soon\n")
	_, err = band.New(band.Settings(&got)).Configure("geo_band", dir, config.EnvMap(map[string]string{"TOKEN": "x"}))
	var se *settings.Error
	if !errors.As(err, &se) || err.Error() != `custom.yaml:1: refresh: "soon" is not a duration such as 30s, 1m30s or 250ms (the field is time.Duration)` {
		t.Errorf("Configure() error = %v", err)
	}
	write("custom.yaml", "listen: nowhere\n")
	_, err = band.New(band.Settings(&got)).Configure("geo_band", dir, config.EnvMap(map[string]string{"TOKEN": "x"}))
	if err == nil || err.Error() != `custom.yaml:1: listen: "nowhere" is not a listen address: want host:port such as 0.0.0.0:8080 or :8080` {
		t.Errorf("Configure() error = %v", err)
	}
}
