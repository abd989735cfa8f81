package health_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rococo-go/rococo/rococo/health"
	"github.com/rococo-go/rococo/rococo/metrics"
)

func get(t *testing.T, srv *httptest.Server, method, path string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg).Message("emails", metrics.Processed, time.Millisecond)
	var notReady atomic.Pointer[error]
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := httptest.NewServer(health.Handler(health.Options{
		Gatherer: reg,
		Ready: func() error {
			if p := notReady.Load(); p != nil {
				return *p
			}
			return nil
		},
		Status: func() health.Status {
			return health.Status{Service: "email", Version: "1.0.0", Commit: "abc123", Started: started,
				State: "running", ExecutionType: "MESSAGING", Processor: "EmailProcessor", Queue: "emails"}
		},
		Now: func() time.Time { return started.Add(90 * time.Second) },
	}))
	defer srv.Close()

	tests := []struct {
		name, method, path string
		down               error
		wantCode           int
		wantBody           string // substring
	}{
		{"liveness", "GET", "/healthz", nil, 200, "ok"},
		{"liveness while not ready", "GET", "/healthz", errors.New("x"), 200, "ok"},
		{"ready", "GET", "/readyz", nil, 200, "ready"},
		{"not ready", "GET", "/readyz", errors.New("rabbitmq: connection refused"), 503, "not ready: rabbitmq: connection refused"},
		{"metrics", "GET", "/metrics", nil, 200, `rococo_messages_processed_total{queue="emails"} 1`},
		{"status", "GET", "/status", nil, 200, `"uptime_seconds": 90`},
		{"head works", "HEAD", "/healthz", nil, 200, ""},
		{"post refused", "POST", "/healthz", nil, 405, ""},
		{"unknown path", "GET", "/nope", nil, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			notReady.Store(&tc.down)
			code, body, _ := get(t, srv, tc.method, tc.path)
			if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, code, body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

func TestStatusDocument(t *testing.T) {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := httptest.NewServer(health.Handler(health.Options{
		Status: func() health.Status {
			return health.Status{Service: "cleanup", Version: "2.0", Started: started, State: "running", ExecutionType: "CRON", Processor: "Cleanup"}
		},
		Now: func() time.Time { return started.Add(1500 * time.Millisecond) },
	}))
	defer srv.Close()
	code, body, hdr := get(t, srv, "GET", "/status")
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /status = %d %s", code, hdr.Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("status is not JSON: %v\n%s", err, body)
	}
	want := map[string]any{"service": "cleanup", "version": "2.0", "started": "2026-01-02T03:04:05Z", "uptime_seconds": 1.5,
		"state": "running", "execution_type": "CRON", "processor": "Cleanup"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("status[%q] = %v, want %v", k, got[k], v)
		}
	}
	for _, k := range []string{"commit", "queue"} {
		if _, ok := got[k]; ok {
			t.Errorf("status has empty %q, want it omitted", k)
		}
	}
}

func TestHandlerMinimal(t *testing.T) {
	srv := httptest.NewServer(health.Handler(health.Options{}))
	defer srv.Close()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 404, "/status": 404} {
		if code, _, _ := get(t, srv, "GET", path); code != want {
			t.Errorf("GET %s = %d, want %d", path, code, want)
		}
	}
}
