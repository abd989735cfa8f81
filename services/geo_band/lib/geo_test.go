package lib

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/band"
)

func loadedGeo(t *testing.T, cfg *Settings) *Geo {
	t.Helper()
	g := New(cfg)
	if err := g.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return g
}

func status(err error) int {
	var e *band.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func TestGeo_Lookup(t *testing.T) {
	cfg := DefaultSettings()
	g := New(&cfg)
	if _, err := g.Lookup(context.Background(), LookupIn{IP: netip.MustParseAddr("192.0.2.1")}); status(err) != http.StatusServiceUnavailable {
		t.Errorf("Lookup before the load = %v, want 503", err)
	}
	g = loadedGeo(t, &cfg)
	tests := []struct {
		in     LookupIn
		want   Answer
		status int
	}{
		{LookupIn{IP: netip.MustParseAddr("192.0.2.1")}, Answer{IP: "192.0.2.1", Found: true, Country: "FR", City: "Paris"}, 0},
		{LookupIn{IP: netip.MustParseAddr("192.0.2.1"), Fields: []string{"city"}}, Answer{IP: "192.0.2.1", Found: true, City: "Paris"}, 0},
		{LookupIn{IP: netip.MustParseAddr("192.0.2.1"), Fields: []string{"zip"}}, Answer{}, http.StatusBadRequest},
		{LookupIn{IP: netip.MustParseAddr("8.8.8.8")}, Answer{}, http.StatusNotFound},
	}
	for _, tc := range tests {
		got, err := g.Lookup(context.Background(), tc.in)
		if got != tc.want || status(err) != tc.status {
			t.Errorf("Lookup(%+v) = %+v, %v; want %+v, status %d", tc.in, got, err, tc.want, tc.status)
		}
	}
}

func TestGeo_LookupMany_limits_the_batch(t *testing.T) {
	cfg := DefaultSettings()
	cfg.MaxBulk = 2
	g := loadedGeo(t, &cfg)
	ips := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("8.8.8.8")}
	got, err := g.LookupMany(context.Background(), ManyIn{IPs: ips})
	if err != nil || len(got) != 2 || !got[0].Found || got[1].Found {
		t.Errorf("LookupMany = %+v, %v", got, err)
	}
	var e *band.Error
	if _, err := g.LookupMany(context.Background(), ManyIn{IPs: append(ips, ips...)}); !errors.As(err, &e) || e.Field != "ips" || e.Status != 400 {
		t.Errorf("LookupMany of 4 = %v, want a 400 naming ips", err)
	}
}

func TestGeo_Load_gates_readiness_and_reloads(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "geo.csv")
	cfg := DefaultSettings()
	cfg.DataFile, cfg.Refresh = file, 10*time.Millisecond
	g := New(&cfg)
	if err := g.Load(context.Background()); err == nil {
		t.Fatal("Load without the file = nil, want an error (the runtime restarts the worker)")
	}
	write := func(content string) { // whole, as a deployment replaces a file
		tmp := file + ".tmp"
		os.WriteFile(tmp, []byte(content), 0o600)
		os.Rename(tmp, file)
	}
	write("10.0.0.0,10.0.0.255,AA,One\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Load(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for g.db.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	write("10.0.0.0,10.0.0.255,BB,Two\n")
	for time.Now().Before(deadline) {
		if a, err := g.Lookup(ctx, LookupIn{IP: netip.MustParseAddr("10.0.0.1")}); err == nil && a.Country == "BB" {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if a, _ := g.Lookup(ctx, LookupIn{IP: netip.MustParseAddr("10.0.0.1")}); a.Country != "BB" {
		t.Errorf("after the refresh: %+v, want BB", a)
	}
	// A broken file during a refresh fails the worker; the data stays.
	write("garbage\n")
	select {
	case err := <-done:
		if err == nil {
			t.Error("Load returned nil on a broken refresh")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Load did not fail on a broken file")
	}
	cancel()
	if a, _ := g.Lookup(ctx, LookupIn{IP: netip.MustParseAddr("10.0.0.1")}); a.Country != "BB" {
		t.Errorf("after a failed refresh: %+v, want the old data", a)
	}
}

func TestGeo_Go_and_FlushHits(t *testing.T) {
	cfg := DefaultSettings()
	cfg.Links = map[string]string{"docs": "https://example.com/docs"}
	cfg.StatsFile = filepath.Join(t.TempDir(), "hits.json")
	g := loadedGeo(t, &cfg)
	if _, err := g.Go(context.Background(), GoIn{Code: "nope"}); status(err) != 404 {
		t.Errorf("Go(nope) = %v, want 404", err)
	}
	if r, err := g.Go(context.Background(), GoIn{Code: "docs"}); r == nil || err != nil {
		t.Errorf("Go(docs) = %v, %v", r, err)
	}
	g.hits["FR"] = 3
	if err := g.FlushHits(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(cfg.StatsFile)
	var got struct{ Hits map[string]int64 }
	if json.Unmarshal(b, &got) != nil || got.Hits["FR"] != 3 {
		t.Errorf("stats file = %s", b)
	}
}

func TestSettings_Validate(t *testing.T) {
	good := DefaultSettings()
	if err := good.Validate(); err != nil {
		t.Errorf("DefaultSettings().Validate() = %v", err)
	}
	bad := Settings{Refresh: 0, MaxBulk: 0, Links: map[string]string{"x": "not a url"}}
	want := "refresh is 0s: want a positive duration such as 10m\nmax_bulk is 0: want at least 1\nlinks.x is \"not a url\": want an absolute URL such as https://example.com/"
	if err := bad.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want\n%s", err, want)
	}
}

func TestVisitor(t *testing.T) {
	tests := []struct{ xff, remote, want string }{
		{"", "192.0.2.1:5555", "192.0.2.1"},
		{"203.0.113.5, 10.0.0.1", "127.0.0.1:1", "203.0.113.5"},
		{"junk", "[::1]:80", "::1"},
	}
	for _, tc := range tests {
		r, _ := http.NewRequest("GET", "/hit", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := visitor(r).String(); got != tc.want {
			t.Errorf("visitor(%q, %q) = %s, want %s", tc.xff, tc.remote, got, tc.want)
		}
	}
}
