package settings_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/settings"
)

type DB struct {
	Host     string        `yaml:"host"`
	Port     int           `yaml:"port"`
	Password config.Secret `yaml:"password"`
	Timeout  time.Duration `yaml:"timeout"`
}

type Server struct {
	Name string `yaml:"name"`
	Port int    `yaml:"port"`
}

type Settings struct {
	Counter  int               `yaml:"initial_counter_value"`
	Env      string            `yaml:"env"`
	DB       DB                `yaml:"db"`
	Servers  []Server          `yaml:"servers"`
	Labels   map[string]string `yaml:"labels"`
	Enabled  bool              `yaml:"enabled"`
	Ratio    float64           `yaml:"ratio"`
	APIToken string            `yaml:"api_token"`
	CHDSN    string            `yaml:"ch_dsn"`
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const configYAML = `# Band-style settings
name: geo
env: {{ ENV|default('development') }}
listen: "{{ HOST|default('0.0.0.0') }}:{{PORT|default(8080) }}"
initial_counter_value: {{ COUNTER | default(5) }}
# my_key: {{ MY_KEY_ENV }}   (commented out: not rendered)
db:
  host: {{ DB_HOST }}
  port: 5432
  password: "{{ DB_PASSWORD|default('') }}"
  timeout: 5s
servers:
  - {name: a, port: 1}
  - {name: b, port: 2}
labels: {team: data}
enabled: {{ ENABLED|d(false) }}
ratio: 0.5 {# a Jinja comment #}
ch_dsn: "{{ CH_DSN|default('http://default:default@host:9090') }}"
`

func TestLoad_renders_merges_and_decodes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"config.yaml": configYAML,
		"custom.yaml": "db:\n  port: 6432\nservers: [{name: c, port: 3}]\nlabels: {env: prod}\napi_token: '{{ TOKEN }}'\n",
	})
	s := Settings{Counter: 1, Ratio: 9}
	doc, err := settings.Load(&s, settings.Options{Dir: dir, Reserved: []string{"name", "listen"}, Lookup: lookup(map[string]string{
		"DB_HOST": "db.local", "DB_PASSWORD": "pw", "TOKEN": "t0k", "PORT": "9000", "ENABLED": "",
	})})
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	want := Settings{
		Counter: 5, Env: "development",
		DB:       DB{Host: "db.local", Port: 6432, Password: "pw", Timeout: 5 * time.Second},
		Servers:  []Server{{"c", 3}},
		Labels:   map[string]string{"team": "data", "env": "prod"},
		Enabled:  false,
		Ratio:    0.5,
		APIToken: "t0k",
		CHDSN:    "http://default:default@host:9090",
	}
	if got, w := fmtJSON(t, s), fmtJSON(t, want); got != w {
		t.Errorf("Load() decoded\n%s\nwant\n%s", got, w)
	}
	if s.DB.Password.Reveal() != "pw" {
		t.Errorf("password = %q", s.DB.Password.Reveal())
	}
	if got := strings.Join(doc.Files(), ","); got != "config.yaml,custom.yaml" {
		t.Errorf("Files() = %s", got)
	}
	if v, ok := doc.Lookup("listen"); !ok || v != "0.0.0.0:9000" {
		t.Errorf("Lookup(listen) = %q, %v", v, ok)
	}
	if v, ok := doc.Lookup("name"); !ok || v != "geo" {
		t.Errorf("Lookup(name) = %q, %v", v, ok)
	}
	if e := doc.Errorf("listen", "bad"); e.File != "config.yaml" || e.Line != 4 || e.Key != "listen" {
		t.Errorf("Errorf(listen) = %+v, want config.yaml line 4", e)
	}
}

// fmtJSON prints v through slog's JSON handler (a stable form to compare).
func fmtJSON(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})).Info("v", "v", slog.AnyValue(v))
	return b.String()
}

func TestLoad_missing_files_keep_the_defaults(t *testing.T) {
	s := Settings{Counter: 7}
	doc, err := settings.Load(&s, settings.Options{Dir: t.TempDir()})
	if err != nil || s.Counter != 7 || len(doc.Files()) != 0 {
		t.Fatalf("Load() = %v, %+v, files %v; want no error, defaults kept, no files", err, s, doc.Files())
	}
	if _, ok := doc.Lookup("listen"); ok {
		t.Error("Lookup(listen) found a key without files")
	}
	// custom.yml, the name Band's code reads, is read too.
	dir := writeFiles(t, map[string]string{"custom.yml": "initial_counter_value: 3\n"})
	if _, err := settings.Load(&s, settings.Options{Dir: dir}); err != nil || s.Counter != 3 {
		t.Errorf("custom.yml: Load() = %v, counter %d", err, s.Counter)
	}
}

func TestLoad_errors_name_file_line_and_key(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		env   map[string]string
		noDst bool
		want  string // the whole one-line message
	}{
		{
			name:  "unset variable without default",
			files: map[string]string{"config.yaml": "env: dev\ndb:\n  host: {{ DB_HOST }}\n"},
			want:  "config.yaml:3: db.host: {{ DB_HOST }} is not set and has no default. Fix: set DB_HOST in the environment (or .env, .env.local), or give a default: {{ DB_HOST|default('...') }}",
		},
		{
			name:  "empty counts as unset",
			files: map[string]string{"config.yaml": "env: {{ ENV }}\n"},
			env:   map[string]string{"ENV": ""},
			want:  "config.yaml:1: env: {{ ENV }} is not set and has no default. Fix: set ENV in the environment (or .env, .env.local), or give a default: {{ ENV|default('...') }}",
		},
		{
			name:  "unknown key",
			files: map[string]string{"config.yaml": "env: dev\nredis_dsn: redis://redis:6379\n"},
			want:  "config.yaml:2: redis_dsn: unknown key. Fix: remove it, or add a field with `yaml:\"redis_dsn\"` to settings_test.Settings (its keys: api_token, ch_dsn, db, enabled, env, initial_counter_value, labels, ratio, servers)",
		},
		{
			name:  "unknown nested key in custom.yaml",
			files: map[string]string{"config.yaml": "db:\n  host: x\n", "custom.yaml": "\ndb:\n  hots: y\n"},
			want:  "custom.yaml:3: db.hots: unknown key. Fix: remove it, or add a field with `yaml:\"hots\"` to settings_test.DB (its keys: host, password, port, timeout)",
		},
		{
			name:  "type mismatch",
			files: map[string]string{"config.yaml": "db:\n  port: {{ DB_PORT|default('five') }}\n"},
			want:  `config.yaml:2: db.port: "five" is not a whole number (the field is int)`,
		},
		{
			name:  "type mismatch in a list",
			files: map[string]string{"config.yaml": "servers:\n  - name: a\n    port: 1\n  - name: b\n    port: x\n"},
			want:  `config.yaml:5: servers[1].port: "x" is not a whole number (the field is int)`,
		},
		{
			name:  "duration without unit",
			files: map[string]string{"config.yaml": "db:\n  timeout: 30\n"},
			want:  `config.yaml:2: db.timeout: "30" is not a duration such as 30s, 1m30s or 250ms (the field is time.Duration)`,
		},
		{
			name:  "mapping for a scalar",
			files: map[string]string{"config.yaml": "enabled:\n  yes: 1\n"},
			want:  "config.yaml:2: enabled: want true or false, not a mapping",
		},
		{
			name:  "scalar for a list",
			files: map[string]string{"config.yaml": "servers: one\n"},
			want:  `config.yaml:1: servers: want a list (lines starting with -, or [a, b]), not the value "one"`,
		},
		{
			name:  "duplicate key",
			files: map[string]string{"config.yaml": "env: a\nratio: 1\nenv: b\n"},
			want:  "config.yaml:3: env: the key appears twice (also at line 1). Fix: keep one",
		},
		{
			name:  "unclosed template",
			files: map[string]string{"config.yaml": "env: {{ ENV\n"},
			want:  "config.yaml:1: a {{ template is not closed by }} on the same line",
		},
		{
			name:  "template tags",
			files: map[string]string{"config.yaml": "{% if x %}\nenv: a\n"},
			want:  "config.yaml:1: {% ... %} template tags are not supported: only {{ VAR }} and {{ VAR|default('value') }}",
		},
		{
			name:  "unsupported filter",
			files: map[string]string{"config.yaml": "env: {{ ENV|upper }}\n"},
			want:  `config.yaml:1: template {{ ENV|upper }}: filter "upper" is not supported: only default('value')`,
		},
		{
			name:  "unquoted default",
			files: map[string]string{"config.yaml": "env: {{ ENV|default(dev) }}\n"},
			want:  `config.yaml:1: template {{ ENV|default(dev) }}: "dev" is not a literal: quote strings, as in default('dev')`,
		},
		{
			name:  "value with a line break",
			files: map[string]string{"config.yaml": "env: {{ ENV }}\n"},
			env:   map[string]string{"ENV": "a\nb"},
			want:  "config.yaml:1: template {{ ENV }}: the value has a line break; settings templates take one-line values (quote it in the environment without newlines, or put it in the file)",
		},
		{
			name:  "invalid YAML",
			files: map[string]string{"config.yaml": "env: a\n  ratio: [1\n"},
			want:  "config.yaml:2: invalid YAML: mapping values are not allowed in this context",
		},
		{
			name:  "top level is a list",
			files: map[string]string{"config.yaml": "- a\n- b\n"},
			want:  "config.yaml:1: the file must hold keys (key: value lines), not a list",
		},
		{
			name:  "both custom files",
			files: map[string]string{"custom.yaml": "env: a\n", "custom.yml": "env: b\n"},
			want:  "custom.yml: both custom.yaml and custom.yml exist: keep one (they are the same file under Band's two names)",
		},
		{
			name:  "no settings struct",
			files: map[string]string{"config.yaml": "name: geo\nlisten: 0.0.0.0:8080\nmy_key: 1\n"},
			noDst: true,
			want:  "config.yaml:3: my_key: the service declares no settings, so the key is unknown. Fix: remove it, or give the service a settings struct (band.Settings) with a field for it",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			var dst any = &Settings{}
			if tc.noDst {
				dst = nil
			}
			_, err := settings.Load(dst, settings.Options{Dir: dir, Lookup: lookup(tc.env), Reserved: []string{"name", "listen"}})
			var se *settings.Error
			if !errors.As(err, &se) {
				t.Fatalf("Load() error = %v, want a *settings.Error", err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("Load() error =\n%s\nwant\n%s", got, tc.want)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("Load() error is not one line: %q", err)
			}
		})
	}
}

func TestLoad_rejects_a_bad_destination(t *testing.T) {
	for _, dst := range []any{Settings{}, new(int), (*Settings)(nil)} {
		if _, err := settings.Load(dst, settings.Options{Dir: t.TempDir()}); err == nil {
			t.Errorf("Load(%T) error = nil, want an error", dst)
		}
	}
}

func TestLoad_anchors_and_merge_keys(t *testing.T) {
	dir := writeFiles(t, map[string]string{"config.yaml": "base: &b\n  host: h\n  port: 1\ndb:\n  <<: *b\n  port: 2\n"})
	type withBase struct {
		Base DB `yaml:"base"`
		DB   DB `yaml:"db"`
	}
	var s withBase
	if _, err := settings.Load(&s, settings.Options{Dir: dir}); err != nil || s.DB.Host != "h" || s.DB.Port != 2 {
		t.Fatalf("Load() = %v, %+v", err, s)
	}
	dir = writeFiles(t, map[string]string{"config.yaml": "base: &b\n  hots: h\ndb:\n  <<: *b\n"})
	if _, err := settings.Load(&s, settings.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "config.yaml:2: base.hots: unknown key") {
		t.Fatalf("Load() error = %v, want the unknown key of the anchored mapping", err)
	}
}

func TestRedacted_masks_secrets(t *testing.T) {
	s := Settings{
		Env:      "prod",
		DB:       DB{Host: "db", Password: "hunter2"},
		APIToken: "tok-123",
		CHDSN:    "http://default:chpass@host:9090",
		Labels:   map[string]string{"secret_key": "abc", "team": "data"},
	}
	got := fmtJSON(t, settings.Redacted(&s))
	for _, secret := range []string{"hunter2", "tok-123", "chpass", "abc"} {
		if strings.Contains(got, secret) {
			t.Errorf("Redacted() leaks %q: %s", secret, got)
		}
	}
	for _, want := range []string{`"env":"prod"`, `"host":"db"`, `"team":"data"`, `"ch_dsn":"http://default:xxxxx@host:9090"`, `"api_token":"[redacted]"`, `"password":"[redacted]"`} {
		if !strings.Contains(got, want) {
			t.Errorf("Redacted() = %s, want %s", got, want)
		}
	}
}

type checked struct {
	Workers int `yaml:"workers"`
}

func (c *checked) Validate() error {
	if c.Workers < 1 {
		return errors.New("workers must be at least 1")
	}
	return nil
}

func TestLoad_calls_Validate(t *testing.T) {
	dir := writeFiles(t, map[string]string{"config.yaml": "workers: 0\n", "custom.yaml": "\n"})
	_, err := settings.Load(&checked{}, settings.Options{Dir: dir})
	if err == nil || err.Error() != "config.yaml: workers must be at least 1" {
		t.Errorf("Load() error = %v", err)
	}
	if _, err := settings.Load(&checked{}, settings.Options{Dir: t.TempDir()}); err == nil {
		t.Error("Load() without files = nil, want the defaults' Validate error")
	}
	if _, err := settings.Load(&checked{Workers: 2}, settings.Options{Dir: dir}); err == nil {
		t.Error("Load() with workers: 0 in the file = nil")
	}
}
