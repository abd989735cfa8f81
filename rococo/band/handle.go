package band

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
)

// DefaultMaxBody is the largest request body a handler reads unless
// MaxBody says otherwise: 1 MiB, aiohttp's client_max_size that Band
// services had.
const DefaultMaxBody = 1 << 20

// HandlerOption configures a handler.
type HandlerOption interface{ applyHandler(*handlerConfig) error }

type handlerConfig struct {
	name    string
	timeout time.Duration
	maxBody int64
	local   bool
}

type timeoutOption time.Duration

// Timeout is how long the handler has to answer (Band's timeout): past it
// the request answers 504 with a JSON error, and the handler's ctx is
// cancelled (a handler that ignores its ctx runs on, unanswered, until it
// returns; shutdown waits for it). Reading the request body counts. Without
// Timeout a handler has no deadline of its own.
func Timeout(d time.Duration) HandlerOption { return timeoutOption(d) }

func (o timeoutOption) applyHandler(c *handlerConfig) error {
	if o <= 0 {
		return fmt.Errorf("band.Timeout(%v): want a positive duration", time.Duration(o))
	}
	c.timeout = time.Duration(o)
	return nil
}

type maxBodyOption int64

// MaxBody is the largest request body, in bytes, the handler accepts:
// larger ones answer 413 with a JSON error. The default is DefaultMaxBody.
func MaxBody(n int64) HandlerOption { return maxBodyOption(n) }

func (o maxBodyOption) applyHandler(c *handlerConfig) error {
	if o <= 0 {
		return fmt.Errorf("band.MaxBody(%d): want a positive number of bytes", int64(o))
	}
	c.maxBody = int64(o)
	return nil
}

type localOption struct{}

// Local serves the handler on the service's port only: it is not served
// over the bus, and /status marks it "local": true, so the gateway does not
// route hits to it. The gateway's own hit handler is one (a hit routed to
// it would call the gateway again).
func Local() HandlerOption { return localOption{} }

func (localOption) applyHandler(c *handlerConfig) error { c.local = true; return nil }

type nameOption string

// Name names the handler in /status, metrics and logs. The default is the
// bare name of the pattern ("lookup"), else the Go function's name in
// snake_case, as Band names functions ("lookup_many" for geo.LookupMany),
// else the pattern's literal path segments joined by _ (for a function
// literal).
func Name(name string) HandlerOption { return nameOption(name) }

func (o nameOption) applyHandler(c *handlerConfig) error { c.name = string(o); return nil }

// handler is a registered handler.
type handler struct {
	name      string
	pattern   string // as registered
	methods   []string
	path      string
	wildcards []string
	handlerConfig
	binder *binder
	// call binds the input and calls the function.
	call func(ctx context.Context, in *input) (any, error)
	// response: Out is the Response interface, so a nil result answers 204.
	response bool
}

type validator interface{ Validate() error }

var validatorType = reflect.TypeFor[validator]()

// Handle registers fn to answer HTTP requests matching pattern on the
// service's port:
//
//   - a bare name, "lookup": GET and POST /lookup, as Band exposes every
//     function;
//   - a path, "/lookup/{ip}": GET and POST on it;
//   - a method and a path, "GET /lookup/{ip}": net/http's ServeMux
//     patterns ({name} one segment, {name...} the rest, {$} the end).
//
// In is a struct (or a pointer to one) whose fields are filled by their
// json names from the query, then the body (a JSON object, a URL-encoded or
// multipart form), then the path's wildcards, a later source replacing an
// earlier one; query, form and path values are converted by the field's
// type (strings, numbers, bools, durations, types with UnmarshalText,
// slices of those from repeated values, anything else as JSON). Arguments
// without a field are ignored unless In embeds Request (Band's **params).
// A value that does not convert answers 400 naming the field. If *In has a
// Validate() error method it is called next; its error answers 400 (or an
// *Error's status).
//
// fn's result answers as JSON 200, a Response (Status, Redirect, Pixel,
// Stream) in its own way; an *Error answers with its status, a deadline
// 504, a panic 500 (recovered, logged with its stack and reported; the
// service goes on serving) and any other error 500 without its text.
// Unknown paths answer 404 and known paths with another method 405, both
// with a JSON body. /healthz, /readyz, /metrics and /status are the
// runtime's own.
//
// The binder of In is built here, once: binding a request costs no
// reflection beyond following its field indexes. Registration mistakes (a
// pattern used twice, an input that cannot be bound, a wildcard without a
// field) stop the service at start; see RegistrationError.
func Handle[In, Out any](s *Service, pattern string, fn func(ctx context.Context, in In) (Out, error), opts ...HandlerOption) {
	h, name, err := s.newHandler(pattern, fn, reflect.TypeFor[In](), opts)
	if err != nil {
		s.fail(err)
		return
	}
	h.name = name
	h.response = reflect.TypeFor[Out]() == reflect.TypeFor[Response]()
	h.call = caller(h.binder, reflect.TypeFor[In]().Kind() == reflect.Pointer, fn)
	if err := s.addRoutes(name, h); err != nil {
		s.fail(err)
		return
	}
	s.add(&function{name: name, role: RoleHandler, handler: h})
}

// caller returns the function that binds a request into a new In and calls
// fn with it.
func caller[In, Out any](b *binder, pointer bool, fn func(context.Context, In) (Out, error)) func(context.Context, *input) (any, error) {
	validate := reflect.PointerTo(b.typ).Implements(validatorType)
	if pointer {
		return func(ctx context.Context, in *input) (any, error) {
			p := reflect.New(b.typ)
			if err := b.bind(p.Elem(), in); err != nil {
				return nil, err
			}
			v := p.Interface().(In)
			if validate {
				if err := any(v).(validator).Validate(); err != nil {
					return nil, invalidInput(err)
				}
			}
			return result(fn(ctx, v))
		}
	}
	return func(ctx context.Context, in *input) (any, error) {
		var v In
		if err := b.bind(reflect.ValueOf(&v).Elem(), in); err != nil {
			return nil, err
		}
		if validate {
			if err := any(&v).(validator).Validate(); err != nil {
				return nil, invalidInput(err)
			}
		}
		return result(fn(ctx, v))
	}
}

func result[Out any](out Out, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return out, nil
}

// invalidInput is the answer to a Validate error: its own status when it
// is an *Error, else 400 with its message.
func invalidInput(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Status: http.StatusBadRequest, Message: err.Error(), Err: err}
}

// newHandler parses pattern and options and builds the input's binder.
func (s *Service) newHandler(pattern string, fn any, in reflect.Type, opts []HandlerOption) (*handler, string, error) {
	who := fmt.Sprintf("handler %q", pattern)
	methods, path, bare, err := parsePattern(pattern)
	if err != nil {
		return nil, "", &RegistrationError{Function: who, Problem: err.Error(), Fix: `write a bare name ("lookup"), a path ("/lookup/{ip}") or a method and a path ("GET /lookup/{ip}")`}
	}
	cfg := s.defaults
	for _, o := range opts {
		if err := o.applyHandler(&cfg); err != nil {
			return nil, "", &RegistrationError{Function: who, Problem: err.Error(), Fix: "pass a valid value"}
		}
	}
	name := cfg.name
	switch {
	case name != "":
	case bare != "":
		name = bare
	default:
		if name = funcName(fn); name == "" {
			name = pathName(path)
		}
	}
	if reflect.ValueOf(fn).IsNil() {
		return nil, "", &RegistrationError{Function: name, Problem: "the handler's function is nil", Fix: "pass a func(ctx context.Context, in In) (Out, error)"}
	}
	wildcards, err := parseWildcards(path)
	if err != nil {
		return nil, "", &RegistrationError{Function: name, Problem: fmt.Sprintf("pattern %q: %v", pattern, err), Fix: "write wildcards as whole segments such as /lookup/{ip} or /files/{path...}"}
	}
	t := in
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	b, err := newBinder(t, wildcards)
	if err != nil {
		return nil, "", &RegistrationError{Function: name, Problem: err.Error(), Fix: "change the input type as said"}
	}
	return &handler{pattern: pattern, methods: methods, path: path, wildcards: wildcards, handlerConfig: cfg, binder: b}, name, nil
}

// addRoutes claims h's method and path pairs.
func (s *Service) addRoutes(name string, h *handler) error {
	for _, m := range h.methods {
		key := m + " " + h.path
		if prev, taken := s.routes[key]; taken {
			return &RegistrationError{Function: name, Problem: fmt.Sprintf("%s is served by the handler %s already", key, prev), Fix: "change the pattern or its method"}
		}
	}
	for _, m := range h.methods {
		s.routes[m+" "+h.path] = name
	}
	return nil
}

var methodRE = regexp.MustCompile(`^[A-Z]+$`)

// parsePattern returns the methods and path of a pattern, and the bare name
// when it is one.
func parsePattern(p string) (methods []string, path, bare string, err error) {
	p = strings.TrimSpace(p)
	switch {
	case p == "":
		return nil, "", "", errors.New("the pattern is empty")
	case strings.ContainsAny(p, " \t"):
		m, rest, _ := strings.Cut(p, " ")
		path = strings.TrimSpace(rest)
		if !methodRE.MatchString(m) {
			return nil, "", "", fmt.Errorf("%q is not an HTTP method (upper case, such as GET or POST)", m)
		}
		methods = []string{m}
	case strings.HasPrefix(p, "/"):
		path, methods = p, []string{http.MethodGet, http.MethodPost}
	default:
		if !nameRE.MatchString(p) {
			return nil, "", "", fmt.Errorf("%q is neither a name (letters, digits, _ and -) nor a path starting with /", p)
		}
		return []string{http.MethodGet, http.MethodPost}, "/" + p, p, nil
	}
	if !strings.HasPrefix(path, "/") {
		return nil, "", "", fmt.Errorf("the path %q does not start with / (host patterns are not supported)", path)
	}
	return methods, path, "", nil
}

var wildcardRE = regexp.MustCompile(`^\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}$`)

// parseWildcards returns the names of a path's wildcards.
func parseWildcards(path string) ([]string, error) {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if !strings.ContainsAny(seg, "{}") || seg == "{$}" {
			continue
		}
		m := wildcardRE.FindStringSubmatch(seg)
		if m == nil {
			return nil, fmt.Errorf("the segment %q is not a wildcard {name} or {name...}", seg)
		}
		if slices.Contains(names, m[1]) {
			return nil, fmt.Errorf("the wildcard {%s} appears twice", m[1])
		}
		names = append(names, m[1])
	}
	return names, nil
}

var anonRE = regexp.MustCompile(`^(func|gowrap)\d+$`)

// funcName returns the Go name of a named function or method ("Lookup" for
// geo.Lookup), "" for a function literal.
func funcName(fn any) string {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return ""
	}
	f := runtime.FuncForPC(v.Pointer())
	if f == nil {
		return ""
	}
	n := strings.TrimSuffix(f.Name(), "-fm")
	if i := strings.LastIndexByte(n, '/'); i >= 0 {
		n = n[i+1:]
	}
	if i := strings.IndexByte(n, '['); i >= 0 {
		n = n[:i]
	}
	last := n[strings.LastIndexByte(n, '.')+1:]
	if anonRE.MatchString(last) || !nameRE.MatchString(last) {
		return ""
	}
	return snake(last)
}

// snake turns a Go name into Band's snake_case: LookupMany -> lookup_many,
// ServeHTTP -> serve_http.
func snake(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		upper := c >= 'A' && c <= 'Z'
		if upper && i > 0 {
			prev := s[i-1]
			lowerBefore := (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9')
			lowerAfter := i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z'
			if lowerBefore || (prev >= 'A' && prev <= 'Z' && lowerAfter) {
				b.WriteByte('_')
			}
		}
		if upper {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// pathName names a handler after its path's literal segments.
func pathName(path string) string {
	var parts []string
	for _, seg := range strings.Split(path, "/") {
		if seg != "" && !strings.ContainsAny(seg, "{}") {
			parts = append(parts, seg)
		}
	}
	if len(parts) == 0 {
		return "index"
	}
	return strings.Join(parts, "_")
}
