package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/rococotest"
)

// These tests build the real geo_band binary with the go tool and talk to it
// over real HTTP on a 127.0.0.1 port (they skip under bazel test, whose
// sandbox has no go tool: run them with go test).

// service is a running geo_band process.
type service struct {
	t    *testing.T
	p    *rococotest.Process
	url  string
	dir  string
	logs func() string
}

// startService runs the geo_band binary bin in a fresh working directory
// holding its config.yaml (and custom.yaml when given), with env added to
// the service's own.
func startService(t *testing.T, bin, custom string, env ...string) *service {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, "config.yaml", filepath.Join(dir, "config.yaml"))
	if custom != "" {
		if err := os.WriteFile(filepath.Join(dir, "custom.yaml"), []byte(custom), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"EXECUTION_TYPE=BAND", "HEALTH_ADDR=127.0.0.1:0", "GEO_DEBUG=true", "SHUTDOWN_TIMEOUT=10s"}
	p := rococotest.StartProcess(t, bin, dir, append(base, env...))
	return &service{t: t, p: p, dir: dir, logs: p.Output}
}

func build(t *testing.T) string {
	t.Helper()
	return rococotest.BuildService(t, "./services/geo_band")
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

var addrRE = regexp.MustCompile(`health server listening"? addr=([0-9.:]+)`)

// listening waits for the listen address in the logs.
func (s *service) listening() *service {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.url == "" {
		if m := addrRE.FindStringSubmatch(s.logs()); m != nil {
			s.url = "http://" + m[1]
			break
		}
		if time.Now().After(deadline) || s.p.Err() != nil {
			s.t.Fatalf("no listen address logged:\n%s", s.logs())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

// ready waits for the listen address, then for /readyz to answer 200.
func (s *service) ready() *service {
	s.t.Helper()
	s.listening()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r := s.do("GET", "/readyz", nil, "", ""); r.code == 200 {
			return s
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("/readyz never answered 200:\n%s", s.logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type answer struct {
	code   int
	header http.Header
	body   string
	te     []string
}

var client = &http.Client{
	Timeout:       15 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{MaxIdleConnsPerHost: 100},
}

func (s *service) do(method, path string, header map[string]string, ctype, body string) answer {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Errorf("%s %s: %v", method, path, err)
		return answer{}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Errorf("%s %s: read body: %v", method, path, err)
	}
	return answer{code: resp.StatusCode, header: resp.Header, body: string(b), te: resp.TransferEncoding}
}

func TestGeoBand_answers_over_HTTP(t *testing.T) {
	s := startService(t, build(t), "").ready()
	big := `{"ips":[` + strings.Repeat(`"192.0.2.1",`, 7000) + `"192.0.2.1"]}`
	tests := []struct {
		name, method, path string
		header             map[string]string
		ctype, body        string
		code               int
		want               string // the body, or a part of it with prefix ~
		check              func(t *testing.T, a answer)
	}{
		{name: "path parameter and a query field", method: "GET", path: "/lookup/192.0.2.1?fields=country",
			code: 200, want: `{"ip":"192.0.2.1","found":true,"country":"FR"}`},
		{name: "precedence: the JSON body wins over the query, the path over both", method: "POST",
			path: "/lookup/192.0.2.1?fields=country&ip=203.0.113.9", ctype: "application/json", body: `{"fields":["city"],"ip":"198.51.100.1"}`,
			code: 200, want: `{"ip":"192.0.2.1","found":true,"city":"Paris"}`},
		{name: "precedence: a form body wins over the query", method: "POST",
			path: "/lookup/203.0.113.9?fields=city", ctype: "application/x-www-form-urlencoded", body: "fields=country",
			code: 200, want: `{"ip":"203.0.113.9","found":true,"country":"JP"}`},
		{name: "precedence: the path's ip replaces a bad one in the JSON body and the query", method: "POST",
			path: "/lookup/192.0.2.1?fields=country&ip=x", ctype: "application/json", body: `{"fields":["city"],"ip":"x"}`,
			code: 200, want: `{"ip":"192.0.2.1","found":true,"city":"Paris"}`},
		{name: "precedence: the path's ip replaces a bad one in a form body", method: "POST",
			path: "/lookup/203.0.113.9", ctype: "application/x-www-form-urlencoded", body: "ip=x&fields=country",
			code: 200, want: `{"ip":"203.0.113.9","found":true,"country":"JP"}`},
		{name: "400 names the path field", method: "GET", path: "/lookup/not-an-ip",
			code: 400, want: `{"error":"invalid ip \"not-an-ip\" in the path: want a valid netip.Addr (ParseAddr(\"not-an-ip\"): unable to parse IP)","status":400,"field":"ip"}`},
		{name: "400 names the query field", method: "GET", path: "/lookup/192.0.2.1?fields=zip",
			code: 400, want: `{"error":"unknown field \"zip\": want country or city","status":400,"field":"fields"}`},
		{name: "400 names the JSON field", method: "POST", path: "/lookup", ctype: "application/json", body: `{"ips":"192.0.2.1"}`,
			code: 400, want: `{"error":"invalid ips in the JSON body: want a list, not a JSON string","status":400,"field":"ips"}`},
		{name: "400 names the JSON field of a value that does not parse", method: "POST", path: "/lookup", ctype: "application/json", body: `{"ips":["192.0.2.1","bad"]}`,
			code: 400, want: `{"error":"invalid ips \"bad\" in the JSON body: want a valid netip.Addr (ParseAddr(\"bad\"): unable to parse IP)","status":400,"field":"ips"}`},
		{name: "bulk lookup", method: "POST", path: "/lookup", ctype: "application/json", body: `{"ips":["192.0.2.1","2001:db8::1","8.8.8.8"],"fields":["country"]}`,
			code: 200, want: `[{"ip":"192.0.2.1","found":true,"country":"FR"},{"ip":"2001:db8::1","found":true,"country":"NL"},{"ip":"8.8.8.8","found":false}]`},
		{name: "404 from the handler", method: "GET", path: "/lookup/8.8.8.8",
			code: 404, want: `{"error":"no location known for 8.8.8.8","status":404}`},
		{name: "404 for an unknown path", method: "GET", path: "/geo/8.8.8.8",
			code: 404, want: `{"error":"no function at GET /geo/8.8.8.8","status":404}`},
		{name: "405 for a known path with another method", method: "DELETE", path: "/lookup/8.8.8.8",
			code: 405, want: `{"error":"DELETE is not served for /lookup/8.8.8.8 (allowed: GET, HEAD, POST)","status":405}`,
			check: func(t *testing.T, a answer) {
				if a.header.Get("Allow") != "GET, HEAD, POST" {
					t.Errorf("Allow = %q", a.header.Get("Allow"))
				}
			}},
		{name: "413 over the handler's 64 KiB", method: "POST", path: "/lookup", ctype: "application/json", body: big,
			code: 413, want: `{"error":"the request body is larger than 65536 bytes, the handler's limit","status":413}`},
		{name: "504 past the handler's timeout", method: "GET", path: "/debug/sleep?for=3s",
			code: 504, want: `{"error":"sleep did not answer within its timeout of 1s","status":504}`},
		{name: "500 on a panic", method: "GET", path: "/debug/panic",
			code: 500, want: `{"error":"internal error","status":500}`},
		{name: "the next request is served after the panic", method: "GET", path: "/lookup/198.51.100.200",
			code: 200, want: `{"ip":"198.51.100.200","found":true,"country":"DE","city":"Berlin"}`},
		{name: "redirect", method: "GET", path: "/go/docs", code: 302, want: "~github.com/rococo-go/rococo",
			check: func(t *testing.T, a answer) {
				if a.header.Get("Location") != "https://github.com/rococo-go/rococo" {
					t.Errorf("Location = %q", a.header.Get("Location"))
				}
			}},
		{name: "unknown short link", method: "GET", path: "/go/nope", code: 404, want: `{"error":"no link \"nope\"","status":404}`},
		{name: "tracking pixel", method: "GET", path: "/hit?page=home", header: map[string]string{"X-Forwarded-For": "203.0.113.5, 10.0.0.1"}, code: 200,
			check: func(t *testing.T, a answer) {
				if a.header.Get("Content-Type") != "image/gif" || len(a.body) != 43 || !strings.HasPrefix(a.body, "GIF89a") {
					t.Errorf("pixel = %s, %d bytes %q", a.header.Get("Content-Type"), len(a.body), a.body)
				}
				if cc := a.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
					t.Errorf("Cache-Control = %q", cc)
				}
			}},
		{name: "the pixel counted the hit", method: "GET", path: "/hits", code: 200, want: `{"JP":1}`},
		{name: "streaming", method: "GET", path: "/export", code: 200,
			check: func(t *testing.T, a answer) {
				lines := strings.Split(strings.TrimSpace(a.body), "\n")
				if len(lines) != 6 || lines[1] != `{"start":"192.0.2.0","end":"192.0.2.255","country":"FR","city":"Paris"}` {
					t.Errorf("export = %q", a.body)
				}
				if a.header.Get("Content-Type") != "application/x-ndjson" || len(a.te) != 1 || a.te[0] != "chunked" {
					t.Errorf("export sent as %s, transfer encoding %v; want chunked NDJSON", a.header.Get("Content-Type"), a.te)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			a := s.do(tc.method, tc.path, tc.header, tc.ctype, tc.body)
			if a.code != tc.code {
				t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, a.code, a.body, tc.code)
			}
			got := strings.TrimSpace(a.body)
			switch {
			case strings.HasPrefix(tc.want, "~"):
				if !strings.Contains(got, tc.want[1:]) {
					t.Errorf("body = %s, want it to contain %s", got, tc.want[1:])
				}
			case tc.want != "" && got != tc.want:
				t.Errorf("body =\n%s\nwant\n%s", got, tc.want)
			}
			if tc.code >= 400 && a.header.Get("Content-Type") != "application/json" {
				t.Errorf("error Content-Type = %q, want application/json", a.header.Get("Content-Type"))
			}
			if tc.code == 504 && time.Since(start) > 2500*time.Millisecond {
				t.Errorf("the 504 came after %v, want it at the 1s timeout", time.Since(start))
			}
			if tc.check != nil {
				tc.check(t, a)
			}
		})
	}

	t.Run("status lists the functions", func(t *testing.T) {
		a := s.do("GET", "/status", nil, "", "")
		var st struct {
			Service, State, ExecutionType string `json:"-"`
			Functions                     []struct {
				Name    string         `json:"name"`
				Role    string         `json:"role"`
				Options map[string]any `json:"options"`
				State   string         `json:"state"`
			} `json:"functions"`
		}
		var top map[string]any
		if err := json.Unmarshal([]byte(a.body), &st); err != nil || json.Unmarshal([]byte(a.body), &top) != nil {
			t.Fatalf("/status = %s: %v", a.body, err)
		}
		if top["service"] != "geo_band" || top["state"] != "ready" || top["execution_type"] != "BAND" {
			t.Errorf("/status = %v, want geo_band ready BAND", top)
		}
		var roles []string
		for _, f := range st.Functions {
			roles = append(roles, f.Name+":"+f.Role)
			if f.Name == "lookup" && (f.Options["timeout_ms"] != 2000.0 || f.Options["path"] != "/lookup/{ip}") {
				t.Errorf("lookup's options = %v", f.Options)
			}
			if f.Name == "load" && (f.Options["gates_readiness"] != true || f.State != "running") {
				t.Errorf("load = %+v", f)
			}
		}
		want := "lookup:handler lookup_many:handler hit:handler hits:handler go:handler export:handler sleep:handler panic:handler load:worker report_hits:scheduled flush_hits:cleanup"
		if got := strings.Join(roles, " "); got != want {
			t.Errorf("functions = %s\nwant %s", got, want)
		}
	})
	t.Run("metrics count requests and errors by status", func(t *testing.T) {
		a := s.do("GET", "/metrics", nil, "", "")
		for _, want := range []string{
			`rococo_band_request_errors_total{function="panic",status="500"} 1`,
			`rococo_band_request_errors_total{function="lookup_many",status="413"} 1`,
			`rococo_band_request_errors_total{function="sleep",status="504"} 1`,
			`rococo_band_request_duration_seconds_count{function="lookup"} 9`,
			`rococo_band_worker_restarts_total{worker="load"} 0`,
		} {
			if !strings.Contains(a.body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

// TestGeoBand_sigterm_with_50_requests_in_flight: all 50 are answered, then
// the cleanup runs, then the service exits 0.
func TestGeoBand_sigterm_with_50_requests_in_flight(t *testing.T) {
	stats := filepath.Join(t.TempDir(), "hits.json")
	s := startService(t, build(t), "", "GEO_STATS_FILE="+stats).ready()
	s.do("GET", "/hit", nil, "", "")

	const n = 50
	answers := make(chan answer, n)
	for range n {
		go func() { answers <- s.do("GET", "/debug/sleep?for=800ms", nil, "", "") }()
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.do("GET", "/metrics", nil, "", "").body, fmt.Sprintf("rococo_band_requests_in_flight %d", n)) {
		if time.Now().After(deadline) {
			t.Fatalf("never %d requests in flight", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.p.Signal(syscall.SIGTERM)

	for range n {
		if a := <-answers; a.code != 200 || strings.TrimSpace(a.body) != `{"slept":"800ms"}` {
			t.Errorf("a request in flight at SIGTERM = %d %s, want 200", a.code, a.body)
		}
	}
	if code := s.p.Wait(15 * time.Second); code != 0 {
		t.Fatalf("exit status %d, want 0:\n%s", code, s.logs())
	}
	// The cleanup wrote the counts; the logs show it ran once the 50
	// handlers had returned (requests drained), and before the exit.
	b, err := os.ReadFile(stats)
	if err != nil {
		t.Fatalf("the cleanup wrote no stats file: %v", err)
	}
	var written struct {
		Written time.Time        `json:"written"`
		Hits    map[string]int64 `json:"hits"`
	}
	if err := json.Unmarshal(b, &written); err != nil || written.Hits["ZZ"] != 1 {
		t.Errorf("stats file = %s (%v), want one loopback hit", b, err)
	}
	logs := s.logs()
	order := []string{`msg="signal received`, `msg="band intake stopped: draining requests" component=band in_flight=50`, `msg="band requests drained"`,
		`msg="worker stopped" component=band function=load`, `msg="cleanup started" component=band function=flush_hits`, `msg="hit counts written"`,
		`msg="cleanup done" component=band function=flush_hits`, `msg=exiting status=0`}
	at := 0
	for _, want := range order {
		i := strings.Index(logs[at:], want)
		if i < 0 {
			t.Fatalf("logs lack %s after position %d (order %q):\n%s", want, at, order, logs)
		}
		at += i
	}
}

func TestGeoBand_worker_gates_readiness_and_is_restarted(t *testing.T) {
	data := filepath.Join(t.TempDir(), "geo.csv")
	s := startService(t, build(t), "", "GEO_DATA_FILE="+data).listening()
	deadline := time.Now().Add(10 * time.Second)
	// The file is missing: the worker fails and is restarted; the service
	// stays not ready.
	for !strings.Contains(s.logs(), `msg="worker failed: restarting it" component=band function=load`) {
		if time.Now().After(deadline) {
			t.Fatalf("the worker never failed:\n%s", s.logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a := s.do("GET", "/readyz", nil, "", ""); a.code != 503 {
		t.Errorf("/readyz without data = %d %s, want 503", a.code, a.body)
	}
	if a := s.do("GET", "/status", nil, "", ""); !strings.Contains(a.body, `"state": "starting"`) {
		t.Errorf("/status without data = %s, want state starting", a.body)
	}
	if a := s.do("GET", "/lookup/192.0.2.1", nil, "", ""); a.code != 503 {
		t.Errorf("a lookup before the load = %d %s, want 503", a.code, a.body)
	}
	if err := os.WriteFile(data, []byte("10.0.0.0,10.255.255.255,XX,Intranet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.ready()
	if a := s.do("GET", "/lookup/10.1.2.3", nil, "", ""); strings.TrimSpace(a.body) != `{"ip":"10.1.2.3","found":true,"country":"XX","city":"Intranet"}` {
		t.Errorf("lookup after the load = %d %s", a.code, a.body)
	}
	if a := s.do("GET", "/metrics", nil, "", ""); !regexp.MustCompile(`rococo_band_worker_restarts_total\{worker="load"\} [1-9]`).MatchString(a.body) {
		t.Errorf("/metrics shows no restart of load")
	}
}

func TestGeoBand_bad_settings_exit_2_with_one_line(t *testing.T) {
	tests := []struct {
		name, custom string
		env          []string
		want         string
	}{
		{"unknown key", "refresh: 1m\ncolour: blue\n", nil,
			"custom.yaml:2: colour: unknown key. Fix: remove it, or add a field with `yaml:\"colour\"` to lib.Settings (its keys: data_file, debug, links, max_bulk, refresh, stats_file)"},
		{"type mismatch", "max_bulk: lots\n", nil,
			`custom.yaml:1: max_bulk: "lots" is not a whole number (the field is int)`},
		{"unset variable without a default", "stats_file: {{ GEO_STATS_PATH }}\n", nil,
			"custom.yaml:1: stats_file: {{ GEO_STATS_PATH }} is not set and has no default. Fix: set GEO_STATS_PATH in the environment (or .env, .env.local), or give a default: {{ GEO_STATS_PATH|default('...') }}"},
		{"a value Validate refuses", "", []string{"GEO_REFRESH=0s"},
			"config.yaml: refresh is 0s: want a positive duration such as 10m"},
		{"a bad listen address", "listen: everywhere\n", []string{"HEALTH_ADDR="},
			`custom.yaml:1: listen: "everywhere" is not a listen address: want host:port such as 0.0.0.0:8080 or :8080`},
	}
	bin := build(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startService(t, bin, tc.custom, tc.env...)
			if code := s.p.Wait(10 * time.Second); code != 2 {
				t.Fatalf("exit status %d, want 2:\n%s", code, s.logs())
			}
			if got := strings.TrimSpace(s.logs()); got != tc.want {
				t.Errorf("output =\n%s\nwant the one line\n%s", got, tc.want)
			}
		})
	}
}
