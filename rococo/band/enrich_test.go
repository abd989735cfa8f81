package band_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/bus"
	"github.com/rococo-go/rococo/rococo/bus/bustest"
	"github.com/rococo-go/rococo/rococo/config"
)

type uaIn struct {
	UA   string `json:"ua"`
	Page string `json:"page"`
}

type uaOut struct {
	Browser string `json:"browser"`
	Page    string `json:"page"`
}

func browser(_ context.Context, in uaIn) (uaOut, error) {
	if in.UA == "" {
		return uaOut{}, errors.New("no user agent")
	}
	b, _, _ := strings.Cut(in.UA, "/")
	return uaOut{Browser: b, Page: in.Page}, nil
}

// serveBus starts h's functions on a new in-memory bus and waits until
// names are served.
func serveBus(t *testing.T, h *harness, names ...string) *bustest.Bus {
	t.Helper()
	b := &bustest.Bus{}
	h.r.SetBus(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.r.ServeBus(ctx, "bandtest") }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeBus() = %v", err)
		}
	})
	for _, n := range names {
		waitFor(t, 2*time.Second, n+" served", func() bool { return b.Serving("bandtest", n) == 1 })
	}
	return b
}

func call(t *testing.T, b bus.Bus, function string, body any) ([]byte, error) {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return b.Call(ctx, "bandtest", function, raw)
}

func TestEnricherOverTheBus(t *testing.T) {
	s := band.New()
	band.Enrich(s, "ua", []string{"in.gen.track"}, map[string]string{"ua": "td.ua", "page": "data.page"}, browser, band.Alias("agent"))
	h := start(t, s, "", nil)
	b := serveBus(t, h, "ua")

	tests := []struct {
		name    string
		args    any
		want    string
		wantErr string
	}{
		{name: "answers", args: map[string]any{"ua": "Firefox/120", "page": "/a"}, want: `{"browser":"Firefox","page":"/a"}`},
		{name: "its error is an error reply", args: map[string]any{"page": "/a"}, wantErr: "no user agent"},
		{name: "arguments that do not decode", args: map[string]any{"ua": 5}, wantErr: "the arguments do not decode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := call(t, b, "ua", tc.args)
			if tc.wantErr != "" {
				var ce *bus.CallError
				if !errors.As(err, &ce) || !strings.Contains(ce.Message, tc.wantErr) {
					t.Fatalf("Call() = %s, %v; want a *bus.CallError with %q", out, err, tc.wantErr)
				}
				return
			}
			if err != nil || string(out) != tc.want {
				t.Fatalf("Call() = %s, %v; want %s", out, err, tc.want)
			}
		})
	}
	if got := h.counter("rococo_band_requests_total", "function", "ua"); got != 3 {
		t.Errorf("rococo_band_requests_total{function=ua} = %v, want 3", got)
	}
}

func TestEnricherInStatus(t *testing.T) {
	s := band.New()
	band.Enrich(s, "ua", []string{"in.gen.track", "in.gen.*.hit"}, map[string]string{"ua": "td.ua"}, browser, band.Alias("agent"))
	h := start(t, s, "", nil)
	fns := h.r.Functions()
	if len(fns) != 1 || fns[0].Role != band.RoleEnricher {
		t.Fatalf("Functions() = %+v, want one enricher", fns)
	}
	got, _ := json.Marshal(fns[0].Options)
	want := `{"alias":"agent","patterns":["in.gen.track.#","in.gen.*.hit"],"props":{"ua":"td.ua"}}`
	if string(got) != want {
		t.Errorf("options = %s, want %s", got, want)
	}
	// The registry reads the same document.
	doc, _ := json.Marshal(map[string]any{"service": "bandtest", "state": "ready", "functions": fns})
	reg := bus.NewRegistry(0, nil)
	if err := reg.Add(doc); err != nil {
		t.Fatal(err)
	}
	if m := reg.Match(band.RoleEnricher, "in.gen.track.page"); len(m) != 1 || m[0].Name != "ua" {
		t.Errorf("Match(in.gen.track.page) = %+v, want the enricher ua", m)
	}
	if m := reg.Match(band.RoleEnricher, "in.gen.other.page"); len(m) != 0 {
		t.Errorf("Match(in.gen.other.page) = %+v, want none", m)
	}
}

func TestEnrichRegistrationErrors(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		props    map[string]string
		opts     []band.EnrichOption
		want     string
	}{
		{name: "no pattern", props: map[string]string{"ua": "td.ua"}, want: "no key pattern"},
		{name: "bad pattern", patterns: []string{"in..gen"}, props: map[string]string{"ua": "td.ua"}, want: "empty word"},
		{name: "no props", patterns: []string{"in.gen.#"}, want: "no props"},
		{name: "unknown root", patterns: []string{"in.gen.#"}, props: map[string]string{"ua": "headers.ua"}, want: `not a field of the event`},
		{name: "unknown td field", patterns: []string{"in.gen.#"}, props: map[string]string{"ua": "td.agent"}, want: "td.ip, td.ua"},
		{name: "below a single value", patterns: []string{"in.gen.#"}, props: map[string]string{"k": "key.x"}, want: "single value"},
		{name: "bad alias", patterns: []string{"in.gen.#"}, props: map[string]string{"ua": "td.ua"}, opts: []band.EnrichOption{band.Alias("a.b")}, want: "band.Alias"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := band.New()
			band.Enrich(s, "ua", tc.patterns, tc.props, browser, tc.opts...)
			_, err := s.Configure("x", t.TempDir(), config.EnvMap(nil))
			var re *band.RegistrationError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "ua") {
				t.Fatalf("Configure() = %v, want a RegistrationError of ua with %q", err, tc.want)
			}
		})
	}
}

type pageIn struct {
	band.Request
	Page string         `json:"page"`
	Data map[string]any `json:"data"`
	TD   bus.TD         `json:"td"`
}

func TestHandlerOverTheBus(t *testing.T) {
	s := band.New()
	band.Handle(s, "page", func(_ context.Context, in pageIn) (map[string]any, error) {
		return map[string]any{"page": in.Page, "agent": in.Data["agent"], "ip": in.TD.IP, "ua": in.HTTP().UserAgent(), "key": in.Params()["key"]}, nil
	})
	band.Handle(s, "pixel", func(context.Context, struct{}) (band.Response, error) { return band.Pixel(), nil })
	band.Handle(s, "go", func(context.Context, struct{}) (band.Response, error) {
		return band.Redirect("https://example.com/", 0), nil
	})
	band.Handle(s, "GET /item/{id}", func(_ context.Context, in struct {
		ID int `json:"id"`
	}) (band.Response, error) {
		return band.Status(http.StatusCreated, map[string]int{"id": in.ID}), nil
	}, band.Name("item"))
	band.Handle(s, "refuse", func(context.Context, struct{}) (any, error) {
		return nil, &band.Error{Status: http.StatusTeapot, Message: "no"}
	})
	band.Handle(s, "slow", func(ctx context.Context, _ struct{}) (any, error) { <-ctx.Done(); return nil, ctx.Err() }, band.Timeout(20*time.Millisecond))
	h := start(t, s, "", nil)
	b := serveBus(t, h, "page", "pixel", "go", "item", "refuse", "slow")

	ev := bus.Event{ID: "e1", Key: "in.gen.bandtest.page", Service: "bandtest", Name: "page",
		TD:   bus.TD{IP: "192.0.2.1", UA: "Firefox/120"},
		Data: map[string]any{"page": "/a", "agent": map[string]any{"browser": "Firefox"}, "id": "7"}}
	tests := []struct {
		function   string
		wantStatus int
		wantHeader map[string]string
		wantBody   string
	}{
		{"page", 200, map[string]string{"Content-Type": "application/json"}, `{"agent":{"browser":"Firefox"},"ip":"192.0.2.1","key":"in.gen.bandtest.page","page":"/a","ua":"Firefox/120"}`},
		{"pixel", 200, map[string]string{"Content-Type": "image/gif"}, ""},
		{"go", 302, map[string]string{"Location": "https://example.com/"}, ""},
		{"item", 201, nil, `{"id":7}`},
		{"refuse", 418, nil, `"error":"no"`},
		{"slow", 504, nil, `"status":504`},
	}
	for _, tc := range tests {
		t.Run(tc.function, func(t *testing.T) {
			out, err := call(t, b, tc.function, ev)
			if err != nil {
				t.Fatalf("Call() error = %v", err)
			}
			var rp band.Reply
			if err := json.Unmarshal(out, &rp); err != nil {
				t.Fatalf("reply %s: %v", out, err)
			}
			if rp.Status != tc.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", rp.Status, tc.wantStatus, rp.Body)
			}
			for k, v := range tc.wantHeader {
				if !strings.HasPrefix(rp.Header[k], v) {
					t.Errorf("header %s = %q, want %q", k, rp.Header[k], v)
				}
			}
			if !strings.Contains(strings.TrimSpace(string(rp.Body)), tc.wantBody) {
				t.Errorf("body = %s, want %s", rp.Body, tc.wantBody)
			}
		})
	}
	out, _ := call(t, b, "pixel", ev)
	var rp band.Reply
	_ = json.Unmarshal(out, &rp)
	if len(rp.Body) != 43 {
		t.Errorf("pixel body is %d bytes, want the 43-byte GIF", len(rp.Body))
	}
}

func TestLocalHandlerIsNotServedOverTheBus(t *testing.T) {
	s := band.New()
	band.Handle(s, "/{service}/{name}", func(context.Context, struct {
		Service string `json:"service"`
		Name    string `json:"name"`
	}) (any, error) {
		return nil, nil
	}, band.Local(), band.Name("hit"))
	band.Handle(s, "other", func(context.Context, struct{}) (any, error) { return nil, nil })
	h := start(t, s, "", nil)
	b := serveBus(t, h, "other")
	if n := b.Serving("bandtest", "hit"); n != 0 {
		t.Errorf("the local handler is served over the bus by %d replica(s), want none", n)
	}
	for _, f := range h.r.Functions() {
		if local, _ := f.Options["local"].(bool); local != (f.Name == "hit") {
			t.Errorf("%s: options.local = %v", f.Name, f.Options["local"])
		}
	}
}
