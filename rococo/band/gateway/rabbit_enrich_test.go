package gateway_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/band/gateway"
)

// The must-show enricher cases on the real broker: one slow (the gateway
// answers at the deadline, the timeout recorded), one failing (no stall,
// the error recorded), one vanished (no wait), each seeing only its own
// props.

func TestRabbitSlowEnricher(t *testing.T) {
	set := gateway.DefaultSettings()
	set.EnrichTimeout = 100 * time.Millisecond
	r := newRabbit(t)
	p := buildPipeline(t, set, r.bus)
	p.events = r.events
	var over []time.Duration
	for range 20 {
		start := time.Now()
		a := hit(t, http.MethodGet, p.url+"/track/pixel", "", "", map[string]string{"Referer": "https://r.example/"})
		took := time.Since(start)
		if a.status != http.StatusOK || len(a.body) != 43 {
			t.Fatalf("GET /track/pixel = %d %d bytes, want the pixel", a.status, len(a.body))
		}
		if took < set.EnrichTimeout {
			t.Fatalf("answered in %v, before the deadline %v", took, set.EnrichTimeout)
		}
		over = append(over, took-set.EnrichTimeout)
	}
	slices.Sort(over)
	t.Logf("answered after the %v enrich deadline by: min %v, median %v, max %v (20 hits: the handler call and the confirmed publish included)", set.EnrichTimeout, over[0], over[10], over[19])
	evs := r.events()
	if len(evs) != 20 {
		t.Fatalf("%d events received, want 20", len(evs))
	}
	ev := evs[19]
	if ev.Enrich["geo.slow"] != gateway.Timeout || !equalJSON(ev.Data["geo"], map[string]any{"country": "FR"}) {
		t.Errorf("event enrich = %v, data = %v; want geo.slow: timeout and country's answer only", ev.Enrich, ev.Data)
	}
	for _, args := range p.seen.get("slow") {
		if !equalJSON(args, map[string]any{"ref": "https://r.example/"}) {
			t.Errorf("slow received %v, want its props only", args)
		}
	}
	for _, args := range p.seen.get("country") {
		if !equalJSON(args, map[string]any{"ip": "127.0.0.1"}) {
			t.Errorf("country received %v, want its props only", args)
		}
	}
}

func TestRabbitFailingAndVanishedEnrichers(t *testing.T) {
	set := gateway.DefaultSettings()
	set.EnrichTimeout = 5 * time.Second // a stall would show
	r := newRabbit(t)
	p := buildPipeline(t, set, r.bus)
	p.events = r.events
	start := time.Now()
	a := hit(t, http.MethodGet, p.url+"/track/go", "", "", nil)
	took := time.Since(start)
	if a.status != http.StatusFound {
		t.Fatalf("GET /track/go = %d, want the redirect", a.status)
	}
	if took > set.EnrichTimeout/2 {
		t.Errorf("answered in %v: the gateway waited for an enricher that failed or vanished", took)
	}
	t.Logf("answered in %v with one enricher failing and one vanished (deadline %v)", took, set.EnrichTimeout)
	evs := r.events()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	want := map[string]string{"geo.failing": "error: the table is not loaded", "gone.vanished": "error: no replica is running"}
	if !equalJSON(evs[0].Enrich, want) {
		t.Errorf("enrich = %v, want %v", evs[0].Enrich, want)
	}
	if _, ok := evs[0].Data["geo"]; ok {
		t.Errorf("data = %v: an error was merged as data", evs[0].Data)
	}
	if got := p.seen.get("failing"); len(got) != 1 || len(got[0]) != 1 || got[0]["host"] == nil {
		t.Errorf("failing received %v, want its one prop", got)
	}
}

func TestRabbitHit(t *testing.T) {
	r := newRabbit(t)
	p := buildPipeline(t, gateway.DefaultSettings(), r.bus)
	p.events = r.events
	a := hit(t, http.MethodGet, p.url+"/track/page?page=/a", "", "", map[string]string{"User-Agent": "Firefox/120"})
	if a.status != http.StatusOK || a.body != `{"country":{"country":"FR"},"page":"/a"}`+"\n" {
		t.Fatalf("GET /track/page = %d %q", a.status, a.body)
	}
	evs := r.events()
	if len(evs) != 1 || !equalJSON(evs[0].Data["browser"], map[string]any{"name": "Firefox"}) || len(evs[0].Enrich) != 0 {
		t.Fatalf("events = %+v, want one enriched by both", evs)
	}
	if a := hit(t, http.MethodGet, p.url+"/gone/hit", "", "", nil); a.status != http.StatusServiceUnavailable {
		t.Errorf("GET /gone/hit = %d, want 503 at once (no replica)", a.status)
	}
}
