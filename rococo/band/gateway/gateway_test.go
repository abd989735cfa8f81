package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/band/gateway"
	"github.com/rococo-go/rococo/rococo/bus"
	"github.com/rococo-go/rococo/rococo/bus/bustest"
)

// seen keeps the arguments each enricher received.
type seen struct {
	mu   sync.Mutex
	args map[string][]map[string]any
}

func (s *seen) add(name string, a map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.args == nil {
		s.args = map[string][]map[string]any{}
	}
	s.args[name] = append(s.args[name], a)
}

func (s *seen) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.args = nil
}

func (s *seen) get(name string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.args[name]
}

type pageIn struct {
	Page string         `json:"page"`
	Data map[string]any `json:"data"`
}

// pipeline is a bus, a registry, a gateway and its URL, with the service
// "track" (handlers page, pixel, go, slow) and the enricher services
// "agent" (ua, alias "browser") and "geo" (country, slow, failing).
type pipeline struct {
	b    bus.Bus
	url  string
	seen *seen
	// events returns the events published so far.
	events func() []bus.Event
}

func newPipeline(t *testing.T, set gateway.Settings) *pipeline {
	t.Helper()
	b := &bustest.Bus{}
	p := buildPipeline(t, set, b)
	p.events = b.Events
	return p
}

// buildPipeline runs the pipeline's services on b.
func buildPipeline(t testing.TB, set gateway.Settings, b bus.Bus) *pipeline {
	t.Helper()
	reg := bus.NewRegistry(time.Minute, nil)
	p := &pipeline{b: b, seen: &seen{}}

	track := band.New()
	band.Handle(track, "page", func(_ context.Context, in pageIn) (map[string]any, error) {
		return map[string]any{"page": in.Page, "country": in.Data["geo"]}, nil
	})
	band.Handle(track, "pixel", func(context.Context, struct{}) (band.Response, error) { return band.Pixel(), nil })
	band.Handle(track, "go", func(context.Context, struct{}) (band.Response, error) {
		return band.Redirect("https://example.com/", 0), nil
	})
	band.Handle(track, "slow", func(ctx context.Context, _ struct{}) (any, error) { <-ctx.Done(); return nil, ctx.Err() }, band.Timeout(50*time.Millisecond))
	runService(t, "track", track, b, reg, true)
	serving(t, b, "track", "page", "pixel", "go", "slow")

	agent := band.New()
	band.Enrich(agent, "ua", []string{"in.gen.track"}, map[string]string{"ua": "td.ua", "page": "data.page"},
		func(_ context.Context, in map[string]any) (map[string]any, error) {
			p.seen.add("ua", in)
			ua, _ := in["ua"].(string)
			name, _, _ := strings.Cut(ua, "/")
			return map[string]any{"name": name}, nil
		}, band.Alias("browser"))
	runService(t, "agent", agent, b, reg, true)
	serving(t, b, "agent", "ua")

	geo := band.New()
	band.Enrich(geo, "country", []string{"in.gen.track.page", "in.gen.track.pixel"}, map[string]string{"ip": "td.ip"},
		func(_ context.Context, in map[string]any) (map[string]any, error) {
			p.seen.add("country", in)
			return map[string]any{"country": "FR"}, nil
		})
	band.Enrich(geo, "slow", []string{"in.gen.track.pixel"}, map[string]string{"ref": "td.ref"},
		func(ctx context.Context, in map[string]any) (map[string]any, error) {
			p.seen.add("slow", in)
			<-ctx.Done()
			return map[string]any{"late": true}, nil
		})
	band.Enrich(geo, "failing", []string{"in.gen.track.go"}, map[string]string{"host": "td.host"},
		func(_ context.Context, in map[string]any) (map[string]any, error) {
			p.seen.add("failing", in)
			return nil, errors.New("the table is not loaded")
		})
	runService(t, "geo", geo, b, reg, true)
	serving(t, b, "geo", "country", "slow", "failing")

	// bare's handler is a key no enricher matches: the plain path the
	// benchmarks compare with.
	bare := band.New()
	band.Handle(bare, "page", func(_ context.Context, in pageIn) (map[string]any, error) {
		return map[string]any{"page": in.Page}, nil
	})
	runService(t, "bare", bare, b, reg, true)
	serving(t, b, "bare", "page")

	gone := band.New()
	band.Enrich(gone, "vanished", []string{"in.gen.track.go"}, map[string]string{"ip": "td.ip"},
		func(context.Context, map[string]any) (map[string]any, error) { return nil, nil })
	band.Handle(gone, "hit", func(context.Context, struct{}) (any, error) { return nil, nil })
	runService(t, "gone", gone, b, reg, false)

	p.url = front(t, gateway.New(gateway.Options{Settings: &set, Registry: reg, Bus: b}), b)
	p.seen.reset() // waiting for the functions may have called them
	return p
}

func (p *pipeline) lastEvent(t *testing.T) bus.Event {
	t.Helper()
	evs := p.events()
	if len(evs) == 0 {
		t.Fatal("no event was published")
	}
	return evs[len(evs)-1]
}

func TestHitIsEnrichedHandledAndPublished(t *testing.T) {
	p := newPipeline(t, gateway.DefaultSettings())
	a := hit(t, http.MethodPost, p.url+"/track/page?page=/a&x=1&x=2", "application/json", `{"n":3}`,
		map[string]string{"User-Agent": "Firefox/120", "Referer": "https://ref.example/", "Cookie": "uid=u1"})
	if a.status != http.StatusOK || a.body != `{"country":{"country":"FR"},"page":"/a"}`+"\n" {
		t.Fatalf("POST /track/page = %d %q, want the handler's answer with geo's data", a.status, a.body)
	}
	ev := p.lastEvent(t)
	if ev.Key != "in.gen.track.page" || ev.Service != "track" || ev.Name != "page" || ev.UID != "u1" || ev.ID == "" || ev.Time.IsZero() {
		t.Errorf("event = %+v", ev)
	}
	if ev.TD.IP != "127.0.0.1" || ev.TD.UA != "Firefox/120" || ev.TD.Ref != "https://ref.example/" || !strings.HasPrefix(ev.TD.Host, "127.0.0.1:") {
		t.Errorf("td = %+v", ev.TD)
	}
	want := map[string]any{"page": "/a", "x": []any{"1", "2"}, "n": 3.0, "browser": map[string]any{"name": "Firefox"}, "geo": map[string]any{"country": "FR"}}
	if !equalJSON(ev.Data, want) {
		t.Errorf("data = %v, want %v", ev.Data, want)
	}
	if len(ev.Enrich) != 0 {
		t.Errorf("enrich = %v, want nothing recorded", ev.Enrich)
	}
	// Each enricher saw its own props and nothing else.
	if got := p.seen.get("ua"); len(got) != 1 || !equalJSON(got[0], map[string]any{"ua": "Firefox/120", "page": "/a"}) {
		t.Errorf("ua received %v", got)
	}
	if got := p.seen.get("country"); len(got) != 1 || !equalJSON(got[0], map[string]any{"ip": "127.0.0.1"}) {
		t.Errorf("country received %v", got)
	}
}

func TestSlowEnricherIsLeftAtTheDeadline(t *testing.T) {
	set := gateway.DefaultSettings()
	set.EnrichTimeout = 100 * time.Millisecond
	p := newPipeline(t, set)
	start := time.Now()
	a := hit(t, http.MethodGet, p.url+"/track/pixel", "", "", map[string]string{"Referer": "https://r.example/"})
	took := time.Since(start)
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "image/gif" || len(a.body) != 43 {
		t.Fatalf("GET /track/pixel = %d %s %d bytes, want the pixel", a.status, a.header.Get("Content-Type"), len(a.body))
	}
	if took < set.EnrichTimeout {
		t.Errorf("answered in %v, before the enrich deadline %v: the slow enricher was not waited for", took, set.EnrichTimeout)
	}
	ev := p.lastEvent(t)
	if ev.Enrich["geo.slow"] != gateway.Timeout {
		t.Errorf("enrich = %v, want geo.slow: timeout", ev.Enrich)
	}
	if _, ok := ev.Data["geo"].(map[string]any)["late"]; ok {
		t.Errorf("data = %v: the late answer was merged", ev.Data)
	}
	if !equalJSON(ev.Data["geo"], map[string]any{"country": "FR"}) {
		t.Errorf("data.geo = %v, want country's answer", ev.Data["geo"])
	}
	if got := p.seen.get("slow"); len(got) != 1 || !equalJSON(got[0], map[string]any{"ref": "https://r.example/"}) {
		t.Errorf("slow received %v", got)
	}
}

func TestFailingAndVanishedEnrichersDoNotStall(t *testing.T) {
	set := gateway.DefaultSettings()
	set.EnrichTimeout = 5 * time.Second // a stall would show
	p := newPipeline(t, set)
	start := time.Now()
	a := hit(t, http.MethodGet, p.url+"/track/go", "", "", nil)
	if took := time.Since(start); took > set.EnrichTimeout/2 {
		t.Errorf("answered in %v: the gateway waited for an enricher that had failed or vanished", took)
	}
	if a.status != http.StatusFound || a.header.Get("Location") != "https://example.com/" {
		t.Fatalf("GET /track/go = %d %v, want the redirect", a.status, a.header)
	}
	ev := p.lastEvent(t)
	want := map[string]string{"geo.failing": "error: the table is not loaded", "gone.vanished": "error: no replica is running"}
	if !equalJSON(ev.Enrich, want) {
		t.Errorf("enrich = %v, want %v", ev.Enrich, want)
	}
	if _, ok := ev.Data["geo"]; ok {
		t.Errorf("data = %v: an error was merged as data", ev.Data)
	}
	if got := p.seen.get("failing"); len(got) != 1 || !strings.HasPrefix(got[0]["host"].(string), "127.0.0.1:") || len(got[0]) != 1 {
		t.Errorf("failing received %v", got)
	}
}

func TestGatewayAnswers(t *testing.T) {
	p := newPipeline(t, gateway.DefaultSettings())
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantBody           string
		published          bool
	}{
		{"unknown service", "GET", "/nobody/page", 404, "no service announced a handler nobody/page", false},
		{"unknown handler", "GET", "/track/nothing", 404, "no service announced a handler track/nothing", false},
		{"an enricher is not a route", "GET", "/geo/country", 404, "no service announced", false},
		{"bad name", "GET", "/track/a.b", 404, "", false},
		{"handler past its timeout", "GET", "/track/slow", 504, `"status":504`, false},
		{"no replica of the handler", "GET", "/gone/hit", 503, "no replica of gone is running", false},
		{"bad JSON body", "POST", "/track/page", 400, "not valid JSON", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(p.events())
			body := ""
			if tc.method == "POST" {
				body = "{"
			}
			a := hit(t, tc.method, p.url+tc.path, "application/json", body, nil)
			if a.status != tc.wantStatus || !strings.Contains(a.body, tc.wantBody) {
				t.Errorf("%s %s = %d %s, want %d %q", tc.method, tc.path, a.status, a.body, tc.wantStatus, tc.wantBody)
			}
			if got := len(p.events()) > before; got != tc.published {
				t.Errorf("published = %v, want %v", got, tc.published)
			}
		})
	}
}

func TestLocalHandlerIsNotARoute(t *testing.T) {
	b := &bustest.Bus{}
	reg := bus.NewRegistry(time.Minute, nil)
	gw := gateway.New(gateway.Options{Registry: reg, Bus: b})
	s := band.New()
	band.Handle(s, "/{service}/{name}", gw.Hit, band.Local())
	runService(t, "front", s, b, reg, true)
	url := front(t, gw, b)
	if a := hit(t, http.MethodGet, url+"/front/hit", "", "", nil); a.status != http.StatusNotFound {
		t.Errorf("GET /front/hit = %d %s, want 404: the gateway's own handler is not routed to", a.status, a.body)
	}
}
