package bus

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func doc(t *testing.T, service, state string, fns ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"service": service, "state": state, "functions": fns})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fn(name, role string, patterns ...string) map[string]any {
	return map[string]any{"name": name, "role": role, "options": map[string]any{"patterns": patterns, "timeout_ms": 5}}
}

func names(fs []Function) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Service+"."+f.Name)
	}
	return strings.Join(s, ",")
}

func TestRegistryMatchAndTTL(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	r := NewRegistry(30*time.Second, c.now)
	if err := r.Add(doc(t, "writer", "ready", fn("store", "listener", "in.gen.track"), fn("index", "listener", "in.gen.*.hit"))); err != nil {
		t.Fatal(err)
	}
	c.add(10 * time.Second)
	if err := r.Add(doc(t, "geo", "ready", fn("geo", "enricher", "in.gen.#"), fn("lookup", "handler"))); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		role, key, want string
	}{
		{"listener", "in.gen.track.hit", "writer.index,writer.store"},
		{"listener", "in.gen.track.click", "writer.store"},
		{"listener", "in.gen.other.hit", "writer.index"},
		{"listener", "in.gen.other.click", ""},
		{"enricher", "in.gen.track.hit", "geo.geo"},
		{"handler", "in.gen.track.hit", ""}, // no patterns: no key reaches it
	}
	for _, tt := range tests {
		if got := names(r.Match(tt.role, tt.key)); got != tt.want {
			t.Errorf("Match(%q, %q) = %q, want %q", tt.role, tt.key, got, tt.want)
		}
	}
	fs := r.Match("enricher", "in.gen.a.b")
	if len(fs) != 1 || string(fs[0].Options) != `{"patterns":["in.gen.#"],"timeout_ms":5}` {
		t.Errorf("the enricher's options: %+v", fs)
	}

	// writer was announced 30 s ago: gone; geo 20 s ago: kept.
	c.add(20 * time.Second)
	if got := names(r.Match("listener", "in.gen.track.hit")); got != "" {
		t.Errorf("an expired service still matches: %q", got)
	}
	if _, ok := r.Lookup("writer"); ok {
		t.Error("Lookup found the expired writer")
	}
	if st, ok := r.Lookup("geo"); !ok || st.State != "ready" {
		t.Errorf("Lookup(geo) = %+v, %v", st, ok)
	}
	// A renewed announcement restarts the TTL.
	c.add(9 * time.Second)
	if err := r.Add(doc(t, "geo", "ready", fn("geo", "enricher", "in.gen.#"))); err != nil {
		t.Fatal(err)
	}
	c.add(29 * time.Second)
	if got := len(r.Services()); got != 1 {
		t.Errorf("%d services after a renewal, want 1", got)
	}
	// A stopping service leaves at once.
	if err := r.Add(doc(t, "geo", StateStopped)); err != nil {
		t.Fatal(err)
	}
	if got := len(r.Services()); got != 0 {
		t.Errorf("%d services after geo stopped, want 0", got)
	}
}

func TestRegistryRejectsBadAnnouncements(t *testing.T) {
	tests := []struct {
		name, doc, err string
	}{
		{"not json", `{`, "not a /status document"},
		{"no service", `{"functions":[]}`, "no service name"},
		{"bad pattern", `{"service":"w","functions":[{"name":"s","role":"listener","options":{"patterns":["a..b"]}}]}`, "bus: the announcement of w: function s: the key pattern"},
		{"bad options", `{"service":"w","functions":[{"name":"s","role":"listener","options":{"patterns":"a"}}]}`, "the options of s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistry(0, nil)
			err := r.Add([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Add error = %v, want one containing %q", err, tt.err)
			}
			if len(r.Services()) != 0 {
				t.Fatal("a bad announcement was recorded")
			}
		})
	}
}

func TestRegistryReplicas(t *testing.T) {
	replica := func(t *testing.T, instance, state string, fns ...map[string]any) []byte {
		t.Helper()
		b, err := json.Marshal(map[string]any{"service": "geo", "instance": instance, "state": state, "functions": fns})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type step struct {
		advance  time.Duration
		doc      func(t *testing.T) []byte
		want     string // the handlers Lookup("geo") finds, "" when geo is unknown
		services int
	}
	announce := func(instance, state string, fns ...map[string]any) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return replica(t, instance, state, fns...) }
	}
	v1, v2 := fn("lookup", "handler"), fn("lookup2", "handler")
	tests := []struct {
		name  string
		steps []step
	}{
		{"one of two replicas stops: the service stays", []step{
			{doc: announce("a", "ready", v1), want: "lookup", services: 1},
			{doc: announce("b", "ready", v1), want: "lookup", services: 1},
			{doc: announce("b", StateStopped), want: "lookup", services: 1},
			{doc: announce("a", StateStopped), want: "", services: 0},
		}},
		{"one replica is killed: the other keeps the service past the first one's TTL", []step{
			{doc: announce("a", "ready", v1), want: "lookup", services: 1},
			{advance: 20 * time.Second, doc: announce("b", "ready", v1), want: "lookup", services: 1},
			{advance: 15 * time.Second, want: "lookup", services: 1}, // a expired, b is 15 s old
			{advance: 15 * time.Second, want: "", services: 0},       // b expired too
		}},
		{"a rolling deploy: the newest announcement's functions", []step{
			{doc: announce("old", "ready", v1), want: "lookup", services: 1},
			{advance: time.Second, doc: announce("new", "ready", v2), want: "lookup2", services: 1},
			{advance: time.Second, doc: announce("old", "ready", v1), want: "lookup", services: 1},
			{doc: announce("old", StateStopped), want: "lookup2", services: 1},
		}},
		{"a stop of an unknown replica changes nothing", []step{
			{doc: announce("a", "ready", v1), want: "lookup", services: 1},
			{doc: announce("ghost", StateStopped), want: "lookup", services: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1000, 0)}
			r := NewRegistry(30*time.Second, c.now)
			for i, s := range tt.steps {
				c.add(s.advance)
				if s.doc != nil {
					if err := r.Add(s.doc(t)); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
				st, ok := r.Lookup("geo")
				got := ""
				if ok {
					for _, f := range st.Functions {
						got += f.Name
					}
				}
				if got != s.want || len(r.Services()) != s.services {
					t.Errorf("step %d: Lookup(geo) finds %q and %d services, want %q and %d", i, got, len(r.Services()), s.want, s.services)
				}
			}
		})
	}
}
