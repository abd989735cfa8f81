package band

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rococo-go/rococo/rococo/bus"
	"github.com/rococo-go/rococo/rococo/report"
)

type busKey struct{}

// SetBus gives the runner the service's Band bus (RabbitMQ, with
// MESSAGING_TYPE=RabbitMqConnection), which
// ServeBus serves the functions on and BusFrom returns to them. The host
// calls it once the bus is open, before Start.
func (r *Runner) SetBus(b bus.Bus) {
	if b != nil {
		r.bus.Store(&b)
	}
}

// BusFrom returns the service's Band bus from the ctx of a handler,
// worker, scheduled function or cleanup: nil when the service has none
// (or ctx is not a function's). The gateway (package band/gateway) runs on
// it.
func BusFrom(ctx context.Context) bus.Bus {
	r, _ := ctx.Value(runnerKey{}).(*Runner)
	if r == nil {
		return nil
	}
	if b := r.bus.Load(); b != nil {
		return *b
	}
	return nil
}

// ServeBus answers the gateway's calls on the bus given to SetBus (at
// once nil without one: nothing is served over a bus) until
// ctx ends or Shutdown stops it: each handler as service's function of its
// name (the hit's event in, the handler's whole answer out as a Reply),
// each enricher likewise (its props in, its answer out). Replicas of a
// service compete for the calls. Shutdown stops the calls only once the
// requests in flight on the port are done, since those may call the
// service's own functions (the gateway's hit on its own pixel does): the
// host passes a ctx that SIGTERM does not cancel. ServeBus returns when
// every function stopped serving and the calls it took were answered: nil
// when it was stopped, else the errors of the functions that could not
// serve.
func (r *Runner) ServeBus(ctx context.Context, service string) error {
	p := r.bus.Load()
	if p == nil {
		return nil
	}
	b := *p
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !r.calls.onDrain(cancel) {
		return nil // Shutdown stopped the calls already
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	serve := func(name string, h bus.CallHandler) {
		wg.Go(func() {
			if err := b.Serve(ctx, service, name, h); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("band: serving %s over the bus: %w", name, err))
				mu.Unlock()
			}
		})
	}
	for _, f := range r.s.fns {
		switch {
		case f.handler != nil && !f.handler.local:
			serve(f.name, r.busHandler(f.handler))
		case f.enricher != nil:
			serve(f.name, r.busEnricher(f.name, f.enricher))
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// busEnricher returns the call handler of an enricher: counted in flight
// (shutdown waits for it) and in the request metrics, a panic recovered.
func (r *Runner) busEnricher(name string, e *enricher) bus.CallHandler {
	m := r.metrics.handler(name)
	return func(ctx context.Context, args []byte) (out []byte, err error) {
		start := time.Now()
		if !r.calls.enter() {
			m.done(http.StatusServiceUnavailable, time.Since(start))
			return nil, errors.New("the service is shutting down")
		}
		r.metrics.inFlight.Inc()
		defer func() {
			if v := recover(); v != nil {
				p := report.NewPanicError(v)
				logFailure(r.log, "enricher panicked", p, "function", name)
				r.rep.Report(context.WithoutCancel(ctx), p, slog.String("function", name), slog.String("role", RoleEnricher))
				out, err = nil, errors.New("internal error")
			}
			code := http.StatusOK
			if err != nil {
				code = http.StatusInternalServerError
			}
			m.done(code, time.Since(start))
			r.metrics.inFlight.Dec()
			r.calls.leave()
		}()
		out, err = e.call(ctx, args)
		if err != nil {
			r.log.Debug("enricher failed", "function", name, "error", err)
		}
		return out, err
	}
}

// busHandler returns the call handler of a handler: the event becomes an
// HTTP request served exactly as a direct one (binding, timeout, errors,
// metrics), and the answer goes back whole as a Reply.
func (r *Runner) busHandler(h *handler) bus.CallHandler {
	serve := r.routeWith(h, r.calls)
	return func(ctx context.Context, body []byte) ([]byte, error) {
		var ev bus.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			return nil, fmt.Errorf("the call is not an event: %w", err)
		}
		req, err := eventRequest(ctx, h, &ev)
		if err != nil {
			return nil, err
		}
		rec := newReplyRecorder()
		serve.ServeHTTP(rec, req)
		return json.Marshal(rec.reply())
	}
}

// eventRequest builds the request a handler called through the gateway
// serves: its first method on its path, the wildcards taken from the
// event's data, the User-Agent and Referer of the hit. Its arguments are
// the event's data (the hit's query and body, and the enrichers' answers)
// and, where data has no such key, the event's own fields (id, key, time,
// service, name, uid, projectId, td, and data itself): string values in
// the query (they convert by the field's type, as a direct hit's query
// does), the others in a JSON body. An input type binds the hit's
// arguments as over direct HTTP, and Band's main(data, **params) reads the
// event.
func eventRequest(ctx context.Context, h *handler, ev *bus.Event) (*http.Request, error) {
	args := make(map[string]any, len(ev.Data)+9)
	for k, v := range ev.Data {
		args[k] = v
	}
	own := map[string]any{"id": ev.ID, "key": ev.Key, "time": ev.Time.Format(time.RFC3339Nano), "service": ev.Service, "name": ev.Name, "td": ev.TD, "data": ev.Data}
	if ev.UID != "" {
		own["uid"] = ev.UID
	}
	if ev.ProjectID != 0 {
		own["projectId"] = ev.ProjectID
	}
	for k, v := range own {
		if _, taken := args[k]; !taken || k == "data" {
			args[k] = v
		}
	}
	query := url.Values{}
	obj := map[string]any{}
	for k, v := range args {
		if s, ok := v.(string); ok {
			query.Set(k, s)
		} else {
			obj[k] = v
		}
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("the event's data does not encode as JSON: %w", err)
	}
	path, values := h.path, map[string]string{}
	for _, w := range h.wildcards {
		v := fmt.Sprint(ev.Data[w])
		if ev.Data[w] == nil {
			v = ""
		}
		values[w] = v
		path = strings.Replace(path, "{"+w+"...}", url.PathEscape(v), 1)
		path = strings.Replace(path, "{"+w+"}", url.PathEscape(v), 1)
	}
	path = strings.Replace(path, "{$}", "", 1)
	req, err := http.NewRequestWithContext(ctx, h.methods[0], path+"?"+query.Encode(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("the event does not make a request: %w", err)
	}
	for w, v := range values {
		req.SetPathValue(w, v)
	}
	req.Header.Set("Content-Type", "application/json")
	if ev.TD.UA != "" {
		req.Header.Set("User-Agent", ev.TD.UA)
	}
	if ev.TD.Ref != "" {
		req.Header.Set("Referer", ev.TD.Ref)
	}
	if ev.TD.IP != "" {
		req.RemoteAddr = ev.TD.IP + ":0"
		req.Header.Set("X-Forwarded-For", ev.TD.IP)
	}
	if ev.TD.Host != "" {
		req.Host = ev.TD.Host
	}
	return req, nil
}
