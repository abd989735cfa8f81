package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultTTL is how long the Registry keeps an announcement, Band's 30 s.
const DefaultTTL = 30 * time.Second

// Status is the part of a Band service's /status document that the
// registry reads.
type Status struct {
	Service string `json:"service"`
	// Instance names the announcing replica ("" from a service that
	// does not say): each has an entry of its own.
	Instance  string     `json:"instance"`
	State     string     `json:"state"`
	Functions []Function `json:"functions"`
}

// Function is one function of an announced service.
type Function struct {
	Service string          `json:"-"` // filled by the Registry
	Name    string          `json:"name"`
	Role    string          `json:"role"`
	Options json.RawMessage `json:"options,omitempty"`

	// Patterns are options.patterns parsed: the keys a listener or an
	// enricher receives.
	Patterns []Pattern `json:"-"`
}

// StateStopped is the state a replica announces as it stops: the Registry
// drops its entry at once instead of after the TTL.
const StateStopped = "stopped"

type entry struct {
	st      Status
	expires time.Time
}

// Registry keeps the Band services announced on a Bus and finds the
// functions a key reaches with the broker's matching rules. Each replica
// (Status.Instance) of a service has its own entry, kept for a TTL after
// its last announcement or until it announces that it stopped; a service
// is known while any of its replicas is, with the functions of its newest
// announcement (replicas of one version announce the same ones). Safe for
// concurrent use.
type Registry struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]map[string]entry // service, instance
}

// NewRegistry returns an empty Registry keeping entries for ttl
// (DefaultTTL when ttl <= 0); now is the clock (time.Now when nil).
func NewRegistry(ttl time.Duration, now func() time.Time) *Registry {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Registry{ttl: ttl, now: now, entries: map[string]map[string]entry{}}
}

// Add records one announcement: a /status document. It fails, recording
// nothing, when the document is not one or a pattern in it is bad.
func (r *Registry) Add(doc []byte) error {
	st, err := parseStatus(doc)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	replicas := r.entries[st.Service]
	if st.State == StateStopped {
		delete(replicas, st.Instance)
		if len(replicas) == 0 {
			delete(r.entries, st.Service)
		}
		return nil
	}
	if replicas == nil {
		replicas = map[string]entry{}
		r.entries[st.Service] = replicas
	}
	replicas[st.Instance] = entry{st: st, expires: r.now().Add(r.ttl)}
	return nil
}

func parseStatus(doc []byte) (Status, error) {
	var st Status
	if err := json.Unmarshal(doc, &st); err != nil {
		return Status{}, fmt.Errorf("bus: an announcement is not a /status document: %w", err)
	}
	if st.Service == "" {
		return Status{}, fmt.Errorf("bus: an announcement has no service name")
	}
	for i := range st.Functions {
		f := &st.Functions[i]
		f.Service = st.Service
		if len(f.Options) == 0 {
			continue
		}
		var o struct {
			Patterns []string `json:"patterns"`
		}
		if err := json.Unmarshal(f.Options, &o); err != nil {
			return Status{}, fmt.Errorf("bus: the announcement of %s: the options of %s: %w", st.Service, f.Name, err)
		}
		ps, err := ParsePatterns(o.Patterns)
		if err != nil {
			return Status{}, fmt.Errorf("bus: the announcement of %s: function %s: %w", st.Service, f.Name, err)
		}
		f.Patterns = ps
	}
	return st, nil
}

// live returns the newest announcement of each service with a replica
// within the TTL, dropping the expired entries. r.mu held.
func (r *Registry) live() []Status {
	out := make([]Status, 0, len(r.entries))
	for service := range r.entries {
		if st, ok := r.newest(service); ok {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Service, b.Service) })
	return out
}

// newest returns the newest announcement of service's replicas within the
// TTL, dropping its expired entries. r.mu held.
func (r *Registry) newest(service string) (Status, bool) {
	now := r.now()
	replicas := r.entries[service]
	var best entry
	for instance, e := range replicas {
		if !now.Before(e.expires) {
			delete(replicas, instance)
			continue
		}
		if e.expires.After(best.expires) {
			best = e
		}
	}
	if len(replicas) == 0 {
		delete(r.entries, service)
		return Status{}, false
	}
	return best.st, true
}

// Services returns the services announced within the TTL, by name.
func (r *Registry) Services() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live()
}

// Lookup returns the newest announcement of service when one of its
// replicas announced itself within the TTL.
func (r *Registry) Lookup(service string) (Status, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.newest(service)
}

// Match returns the live functions with role one of whose patterns
// matches key, ordered by service then function name.
func (r *Registry) Match(role, key string) []Function {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Function
	for _, st := range r.live() {
		for _, f := range st.Functions {
			if f.Role == role && MatchAny(f.Patterns, key) {
				out = append(out, f)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Function) int {
		if c := strings.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Run feeds the Registry from b's announcements until ctx ends. A bad
// announcement is logged with log (nil discards) and skipped.
func (r *Registry) Run(ctx context.Context, b Bus, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return b.Watch(ctx, func(doc []byte) {
		if err := r.Add(doc); err != nil {
			log.Warn("registry: announcement skipped", "error", err)
		}
	})
}
