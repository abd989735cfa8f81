package band_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

// harness is a started band service on a 127.0.0.1 port.
type harness struct {
	t       *testing.T
	r       *band.Runner
	url     string
	reg     *prometheus.Registry
	logs    *rococotest.Buffer
	reports *reports
	srv     *httptest.Server
	stopped bool
}

// reports is a report.Reporter that keeps what it gets.
type reports struct {
	mu   sync.Mutex
	errs []error
}

func (r *reports) Report(_ context.Context, err error, _ ...slog.Attr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *reports) all() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// start configures s (settings from dir, "" for none), builds its runner,
// serves it and starts it. Shutdown runs at the end of the test unless the
// test called stop.
func start(t *testing.T, s *band.Service, dir string, env map[string]string) *harness {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if _, err := s.Configure("bandtest", dir, config.EnvMap(env)); err != nil {
		t.Fatalf("Configure() error = %v", err)
	}
	h := &harness{t: t, reg: prometheus.NewRegistry(), logs: &rococotest.Buffer{}, reports: &reports{}}
	r, err := s.Runner(band.Runtime{
		Logger:          slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:      h.reg,
		Reporter:        h.reports,
		ShutdownTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("Runner() error = %v", err)
	}
	h.r = r
	reserved := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := r.Ready(); err != nil && req.URL.Path == "/readyz" {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "reserved "+req.URL.Path)
	})
	h.srv = httptest.NewUnstartedServer(r.Handler(reserved))
	h.srv.Config.BaseContext = func(net.Listener) context.Context { return r.BaseContext() }
	h.srv.Start()
	h.url = h.srv.URL
	r.Start(context.Background())
	t.Cleanup(func() {
		if !h.stopped {
			h.stop(5 * time.Second)
		}
		h.srv.Close()
		if t.Failed() {
			t.Logf("logs:\n%s", h.logs.String())
		}
	})
	return h
}

// stop shuts the runner down within d and returns Shutdown's error.
func (h *harness) stop(d time.Duration) error {
	h.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return h.r.Shutdown(ctx)
}

// response is what a request answered.
type response struct {
	code   int
	header http.Header
	body   string
	close  bool // the server asked to close the connection (Connection: close)
}

// json decodes the body into a map.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

var client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// do sends a request; body "" sends none.
func (h *harness) do(method, path, contentType, body string) response {
	h.t.Helper()
	return do(h.t, method, h.url+path, contentType, body)
}

func do(t testing.TB, method, url, contentType, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b), close: resp.Close}
}

// counter returns the value of a counter of the harness's registry.
func (h *harness) counter(name string, labels ...string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			if hs := m.GetHistogram(); hs != nil {
				return float64(hs.GetSampleCount())
			}
		}
	}
	return 0
}

// waitFor polls cond every 10ms for at most d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
