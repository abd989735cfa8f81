package health

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Status is the document served at /status.
type Status struct {
	Service string `json:"service"`
	// Instance names this process among the replicas of the service
	// (host name, process id and a random suffix): the gateway's registry
	// keeps one entry per instance.
	Instance string `json:"instance,omitempty"`
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	// Started is when the service started. The handler sets UptimeSeconds
	// from it when UptimeSeconds is zero.
	Started       time.Time `json:"started"`
	UptimeSeconds float64   `json:"uptime_seconds"`
	// State is the service's lifecycle state, e.g. "starting", "running",
	// "stopping".
	State         string `json:"state"`
	ExecutionType string `json:"execution_type"`
	Processor     string `json:"processor,omitempty"`
	Queue         string `json:"queue,omitempty"`
	// Functions are a Band service's registered functions (package
	// rococo/band), as Band's __status lists them.
	Functions []Function `json:"functions,omitempty"`
}

// Function is one registered function of a Band service in /status.
type Function struct {
	Name string `json:"name"`
	// Role is handler, worker, scheduled, cleanup, listener or enricher.
	Role string `json:"role"`
	// Options are what it was registered with: a handler's methods, path,
	// timeout_ms and max_body_bytes; a worker's gates_readiness and restart
	// delays; a scheduled function's schedule; a listener's patterns; an
	// enricher's patterns, props and alias.
	Options map[string]any `json:"options,omitempty"`
	// State is what a worker does now: starting, running, restarting, done
	// or stopped ("" for the other roles).
	State string `json:"state,omitempty"`
	// Restarts counts a worker's restarts.
	Restarts int `json:"restarts,omitempty"`
}

// Options configure Handler. Every field is optional.
type Options struct {
	// Gatherer serves /metrics; nil leaves /metrics out (404).
	Gatherer prometheus.Gatherer
	// Ready backs /readyz: nil error means ready. A nil func is always
	// ready.
	Ready func() error
	// Status backs /status; nil leaves /status out (404).
	Status func() Status
	// Now is the clock for uptime; nil means time.Now.
	Now func() time.Time
}

// Handler returns the handler serving /healthz, /readyz, /metrics and
// /status to GET and HEAD requests. It is safe for concurrent use; Ready
// and Status are called once per request and must not block.
func Handler(o Options) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		text(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if o.Ready != nil {
			if err := o.Ready(); err != nil {
				text(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
				return
			}
		}
		text(w, http.StatusOK, "ready")
	})
	if o.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	}
	if o.Status != nil {
		mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
			s := o.Status()
			if s.UptimeSeconds == 0 && !s.Started.IsZero() {
				s.UptimeSeconds = o.Now().Sub(s.Started).Seconds()
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			_ = enc.Encode(s) // a write error means the client went away
		})
	}
	return mux
}

func text(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body+"\n") // a write error means the client went away
}
