package band

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/settings"
)

// ReservedPaths are served by the runtime itself on the service's port:
// liveness, readiness, Prometheus metrics and the status document.
var ReservedPaths = []string{"/healthz", "/readyz", "/metrics", "/status"}

// Setup is what Configure found, for the host.
type Setup struct {
	// Name is the settings' name key (Band's service name), "" when unset.
	Name string
	// Listen is the settings' listen key, host:port (Band's one listen
	// address), "" when unset.
	Listen string
	// Files are the settings files read, in order.
	Files []string
	// Handlers counts the registered handlers (they need the HTTP port).
	Handlers int
	// Settings are the decoded settings with secrets masked, for the
	// start-up log (empty without Settings).
	Settings slog.Value
}

// Configure is the start-up step at which every mistake of the service
// stops it with exit status 2, before anything starts: it returns the first
// registration mistake (a *RegistrationError), checks that the patterns do
// not overlap each other or the ReservedPaths, and loads the settings files
// from dir, rendered with env (plus NAME, the service's name, and ENV,
// "development", when unset, as Band provides them) into the Settings
// struct (errors are *settings.Error). The host calls it once, before
// Runner; registering afterwards is a mistake.
func (s *Service) Configure(name, dir string, env config.Env) (Setup, error) {
	if s.err != nil {
		return Setup{}, s.err
	}
	s.configured = true
	if _, err := s.mux(func(*handler) http.Handler { return http.NotFoundHandler() }, http.NotFoundHandler()); err != nil {
		return Setup{}, err
	}
	lookup := func(k string) (string, bool) {
		if v, ok := env.Lookup(k); ok && v != "" {
			return v, true
		}
		switch k {
		case "NAME":
			return name, name != ""
		case "ENV":
			return "development", true
		}
		return "", false
	}
	doc, err := settings.Load(s.settings, settings.Options{Dir: dir, Lookup: lookup, Reserved: []string{"name", "listen"}})
	if err != nil {
		return Setup{}, err
	}
	setup := Setup{Files: doc.Files(), Settings: settings.Redacted(s.settings)}
	for _, f := range s.fns {
		if f.handler != nil {
			setup.Handlers++
		}
	}
	if v, ok := doc.Lookup("name"); ok && v != "" {
		if !nameRE.MatchString(v) {
			return Setup{}, doc.Errorf("name", "%q is not a service name: want letters, digits, _ and - only", v)
		}
		setup.Name = v
	}
	if v, ok := doc.Lookup("listen"); ok && v != "" {
		if !validListen(v) {
			return Setup{}, doc.Errorf("listen", "%q is not a listen address: want host:port such as 0.0.0.0:8080 or :8080", v)
		}
		setup.Listen = v
	}
	return setup, nil
}

func validListen(v string) bool {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return false
	}
	return host == "" || net.ParseIP(host) != nil || config.ValidHost(host)
}

// mux builds the service's router: route(h) serves each handler's
// patterns, reserved the ReservedPaths, and anything else answers a JSON
// 404 or 405. A conflict between two patterns is a *RegistrationError.
func (s *Service) mux(route func(*handler) http.Handler, reserved http.Handler) (http.Handler, error) {
	main, strict := http.NewServeMux(), http.NewServeMux()
	owner := map[string]string{}
	for _, p := range ReservedPaths {
		main.Handle(p, reserved)
		strict.Handle(p, reserved)
		owner[p] = "the runtime"
	}
	for _, f := range s.fns {
		if f.handler == nil {
			continue
		}
		h := route(f.handler)
		for _, m := range f.handler.methods {
			p := m + " " + f.handler.path
			if err := handle(main, p, h); err != nil {
				return nil, conflict(f.name, p, err, owner)
			}
			_ = handle(strict, p, h)
			owner[p] = "the handler " + f.name
		}
	}
	// A pattern with a method is more specific than a reserved path, so
	// ServeMux would let "GET /status" shadow the runtime's /status.
	for _, p := range ReservedPaths {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodHead} {
			req, _ := http.NewRequest(m, p, nil)
			if _, pat := main.Handler(req); pat != p {
				return nil, &RegistrationError{
					Function: strings.TrimPrefix(owner[pat], "the handler "),
					Problem:  fmt.Sprintf("the pattern %q serves %s %s, the runtime's own path", pat, m, p),
					Fix:      "choose another path: /healthz, /readyz, /metrics and /status are the runtime's",
				}
			}
		}
	}
	main.Handle("/", unrouted(strict))
	return main, nil
}

// handle registers a pattern, turning ServeMux's panic on a conflict into an
// error.
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

var conflictRE = regexp.MustCompile(`conflicts with pattern "([^"]*)"`)

func conflict(name, pattern string, err error, owner map[string]string) *RegistrationError {
	other := "another pattern"
	if m := conflictRE.FindStringSubmatch(err.Error()); m != nil {
		other = fmt.Sprintf("%q of %s", m[1], owner[m[1]])
	}
	return &RegistrationError{
		Function: name,
		Problem:  fmt.Sprintf("the pattern %q overlaps %s: both would serve some requests", pattern, other),
		Fix:      `make one pattern more specific (a trailing / serves the whole subtree: write "GET /{$}" for the root alone; /healthz, /readyz, /metrics and /status are the runtime's)`,
	}
}
