package lib

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rococo-go/rococo/common/logger"
	"github.com/rococo-go/rococo/rococo/band"
)

// Geo holds the service's state and its Band functions. Its methods are
// safe for concurrent use.
type Geo struct {
	cfg *Settings
	db  atomic.Pointer[DB]

	mu   sync.Mutex
	hits map[string]int64 // pixel hits by country of the visitor
}

// New returns the functions of a service with settings cfg (loaded by the
// runtime before any function runs).
func New(cfg *Settings) *Geo {
	return &Geo{cfg: cfg, hits: map[string]int64{}}
}

// Load is the load worker: it reads the database, marks the service ready
// (the worker gates readiness), then reads it again every Refresh. A
// failure returns the error, so the runtime logs it and restarts the worker
// with backoff; the database loaded before stays in use.
func (g *Geo) Load(ctx context.Context) error {
	if err := g.load(ctx); err != nil {
		return err
	}
	band.MarkReady(ctx)
	t := time.NewTicker(g.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := g.load(ctx); err != nil {
				return err
			}
		}
	}
}

func (g *Geo) load(ctx context.Context) error {
	db := Sample()
	if path := g.cfg.DataFile; path != "" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("load the database: %w", err)
		}
		defer f.Close()
		if db, err = ParseDB(f); err != nil {
			return fmt.Errorf("load the database %s: %w", path, err)
		}
	}
	g.db.Store(db)
	logger.From(ctx).Info("database loaded", "ranges", db.Len(), "file", g.cfg.DataFile)
	return nil
}

// LookupIn is the input of GET and POST /lookup/{ip}.
type LookupIn struct {
	IP netip.Addr `json:"ip"`
	// Fields limits the answer to some of country and city
	// (?fields=country&fields=city, or a JSON list).
	Fields []string `json:"fields"`
}

// Answer is where an address is.
type Answer struct {
	IP      string `json:"ip"`
	Found   bool   `json:"found"`
	Country string `json:"country,omitempty"`
	City    string `json:"city,omitempty"`
}

// Lookup answers where in.IP is: 404 when the database does not know, 503
// before it is loaded.
func (g *Geo) Lookup(_ context.Context, in LookupIn) (Answer, error) {
	db, err := g.loaded()
	if err != nil {
		return Answer{}, err
	}
	a, err := answer(db, in.IP, in.Fields)
	if err != nil {
		return Answer{}, err
	}
	if !a.Found {
		return Answer{}, band.Errorf(http.StatusNotFound, "no location known for %s", in.IP)
	}
	return a, nil
}

// ManyIn is the input of POST /lookup.
type ManyIn struct {
	IPs    []netip.Addr `json:"ips"`
	Fields []string     `json:"fields"`
}

// LookupMany answers for each address of in.IPs, found or not.
func (g *Geo) LookupMany(_ context.Context, in ManyIn) ([]Answer, error) {
	db, err := g.loaded()
	if err != nil {
		return nil, err
	}
	if len(in.IPs) == 0 || len(in.IPs) > g.cfg.MaxBulk {
		return nil, &band.Error{Status: http.StatusBadRequest, Field: "ips", Message: fmt.Sprintf("send 1 to %d addresses, not %d", g.cfg.MaxBulk, len(in.IPs))}
	}
	out := make([]Answer, 0, len(in.IPs))
	for _, ip := range in.IPs {
		a, err := answer(db, ip, in.Fields)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (g *Geo) loaded() (*DB, error) {
	db := g.db.Load()
	if db == nil {
		return nil, band.Errorf(http.StatusServiceUnavailable, "the database is not loaded yet")
	}
	return db, nil
}

func answer(db *DB, ip netip.Addr, fields []string) (Answer, error) {
	loc, ok := db.Lookup(ip)
	a := Answer{IP: ip.String(), Found: ok}
	if !ok {
		return a, nil
	}
	if len(fields) == 0 {
		fields = []string{"country", "city"}
	}
	for _, f := range fields {
		switch f {
		case "country":
			a.Country = loc.Country
		case "city":
			a.City = loc.City
		default:
			return Answer{}, &band.Error{Status: http.StatusBadRequest, Field: "fields", Message: fmt.Sprintf("unknown field %q: want country or city", f)}
		}
	}
	return a, nil
}

// HitIn is the input of /hit: the whole request (Band's **params), for the
// visitor's address.
type HitIn struct {
	band.Request
	Page string `json:"page"`
}

// Hit counts a page view by the visitor's country and answers with Band's
// tracking pixel.
func (g *Geo) Hit(ctx context.Context, in HitIn) (band.Response, error) {
	country := "unknown"
	if db := g.db.Load(); db != nil {
		if loc, ok := db.Lookup(visitor(in.HTTP())); ok {
			country = loc.Country
		}
	}
	g.mu.Lock()
	g.hits[country]++
	g.mu.Unlock()
	logger.From(ctx).Debug("hit", "page", in.Page, "country", country)
	return band.Pixel(), nil
}

// visitor returns the client's address: the first of X-Forwarded-For (a
// proxy in front), else the connection's.
func visitor(r *http.Request) netip.Addr {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		if ip, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip
}

// Hits answers the hit counts by country.
func (g *Geo) Hits(context.Context, struct{}) (map[string]int64, error) {
	return g.counts(), nil
}

func (g *Geo) counts() map[string]int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.hits)
}

// GoIn is the input of GET /go/{code}.
type GoIn struct {
	Code string `json:"code"`
}

// Go redirects to the short link code.
func (g *Geo) Go(_ context.Context, in GoIn) (band.Response, error) {
	link, ok := g.cfg.Links[in.Code]
	if !ok {
		return nil, band.Errorf(http.StatusNotFound, "no link %q", in.Code)
	}
	return band.Redirect(link, http.StatusFound), nil
}

// Export streams the database as JSON lines, one range each.
func (g *Geo) Export(context.Context, struct{}) (band.Response, error) {
	db, err := g.loaded()
	if err != nil {
		return nil, err
	}
	return band.Stream("application/x-ndjson", func(ctx context.Context, w io.Writer) error {
		enc := json.NewEncoder(w)
		return db.Each(func(start, end netip.Addr, loc Location) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return enc.Encode(struct {
				Start   string `json:"start"`
				End     string `json:"end"`
				Country string `json:"country"`
				City    string `json:"city"`
			}{start.String(), end.String(), loc.Country, loc.City})
		})
	}), nil
}

// SleepIn is the input of GET /debug/sleep.
type SleepIn struct {
	For time.Duration `json:"for"`
}

// Sleep waits in.For (or until its ctx ends) and says so: with the handler's
// Timeout it shows a 504, and many at once show the shutdown's drain.
func (g *Geo) Sleep(ctx context.Context, in SleepIn) (map[string]string, error) {
	if !g.cfg.Debug {
		return nil, errNoDebug
	}
	select {
	case <-time.After(in.For):
		return map[string]string{"slept": in.For.String()}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Panic panics: the runtime answers 500, logs and reports the panic, and
// goes on serving.
func (g *Geo) Panic(context.Context, struct{}) (string, error) {
	if !g.cfg.Debug {
		return "", errNoDebug
	}
	panic("debug: a panic was asked for")
}

var errNoDebug = band.Errorf(http.StatusNotFound, "debug endpoints are off: set debug: true in the settings (GEO_DEBUG=true)")

// ReportHits logs the hit counts (a scheduled function).
func (g *Geo) ReportHits(ctx context.Context) error {
	logger.From(ctx).Info("hits so far", "by_country", g.counts())
	return nil
}

// FlushHits is the cleanup: it writes the hit counts to StatsFile (through
// a temporary file and a rename, so a reader never sees half of it).
func (g *Geo) FlushHits(ctx context.Context) error {
	counts := g.counts()
	log := logger.From(ctx)
	if g.cfg.StatsFile == "" {
		log.Info("hits at shutdown", "by_country", counts)
		return nil
	}
	b, err := json.Marshal(struct {
		Written time.Time        `json:"written"`
		Hits    map[string]int64 `json:"hits"`
	}{time.Now().UTC(), counts})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(g.cfg.StatsFile), ".hits-*")
	if err != nil {
		return fmt.Errorf("write the hit counts: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write the hit counts: %w", err)
	}
	if err := os.Rename(tmp.Name(), g.cfg.StatsFile); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write the hit counts: %w", err)
	}
	log.Info("hit counts written", "file", g.cfg.StatsFile, "countries", slices.Sorted(maps.Keys(counts)))
	return nil
}
