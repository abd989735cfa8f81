package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/bus"
)

// Gateway answers hits. It is safe for concurrent use.
type Gateway struct {
	set *Settings
	reg *bus.Registry
	bus bus.Bus // nil: band.BusFrom the request's ctx
	log *slog.Logger
}

// Options are a Gateway's parts.
type Options struct {
	// Settings, read at each hit (a Band service's settings are loaded
	// before any function runs); nil is DefaultSettings.
	Settings *Settings
	// Registry holds the announced services; Watch feeds it. nil makes one
	// with bus.DefaultTTL.
	Registry *bus.Registry
	// Bus carries the calls and the events; nil takes the Band service's
	// own bus (band.BusFrom) from each call's ctx.
	Bus bus.Bus
	// Logger; nil discards.
	Logger *slog.Logger
}

// New returns a Gateway.
func New(o Options) *Gateway {
	g := &Gateway{set: o.Settings, reg: o.Registry, bus: o.Bus, log: o.Logger}
	if g.set == nil {
		d := DefaultSettings()
		g.set = &d
	}
	if g.reg == nil {
		g.reg = bus.NewRegistry(0, nil)
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g
}

// Registry returns the gateway's registry.
func (g *Gateway) Registry() *bus.Registry { return g.reg }

func (g *Gateway) busFrom(ctx context.Context) (bus.Bus, error) {
	if g.bus != nil {
		return g.bus, nil
	}
	if b := band.BusFrom(ctx); b != nil {
		return b, nil
	}
	return nil, &band.Error{Status: http.StatusServiceUnavailable, Message: "the gateway has no bus: set MESSAGING_TYPE=RabbitMqConnection (the Band bus is RabbitMQ) in its environment"}
}

// Watch keeps the registry fed with the services' announcements until ctx
// ends: run it as a worker of the gateway's Band service.
func (g *Gateway) Watch(ctx context.Context) error {
	b, err := g.busFrom(ctx)
	if err != nil {
		return err
	}
	return g.reg.Run(ctx, b, g.log)
}

// HitIn is a hit: GET or POST /{service}/{name}.
type HitIn struct {
	band.Request
	Service string `json:"service"`
	Name    string `json:"name"`
}

// Hit answers one hit, registered on the gateway's Band service as
//
//	band.Handle(s, "/{service}/{name}", gw.Hit, band.Local())
//
// A hit on a service that has no handler of that name announced (or only a
// band.Local one) answers 404. Otherwise the event is built and enriched (see enrich), the handler
// is called over the bus with its own timeout (else HandlerTimeout), and
// when it answered below 500 the enriched event is published with
// publisher confirms (within PublishTimeout) before the handler's answer
// (status, headers, body: JSON, a redirect, a pixel) goes back to the
// client. The handler unreachable answers 503, failing without an answer
// 502, past its timeout 504; an event the broker did not confirm 503.
func (g *Gateway) Hit(ctx context.Context, in HitIn) (band.Response, error) {
	timeout, err := g.route(in.Service, in.Name)
	if err != nil {
		return nil, err
	}
	b, err := g.busFrom(ctx)
	if err != nil {
		return nil, err
	}
	ev, err := newEvent(in.HTTP(), in.Body(), in.Service, in.Name, g.set.TrustForwarded)
	if err != nil {
		return nil, &band.Error{Status: http.StatusBadRequest, Message: err.Error(), Err: err}
	}
	g.enrich(ctx, b, &ev)
	rp, err := g.handle(ctx, b, &ev, timeout)
	if err != nil {
		return nil, err
	}
	if rp.Status < http.StatusInternalServerError {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.set.PublishTimeout)
		defer cancel()
		if err := b.Publish(pctx, ev); err != nil {
			return nil, &band.Error{Status: http.StatusServiceUnavailable, Message: "the hit was handled but its event was not confirmed by the broker: send it again", Err: err}
		}
	}
	return rp, nil
}

// route returns the timeout of service's handler name, or a 404.
func (g *Gateway) route(service, name string) (timeout time.Duration, err error) {
	st, ok := g.reg.Lookup(service)
	if ok {
		for _, f := range st.Functions {
			if f.Name != name || f.Role != band.RoleHandler {
				continue
			}
			var o struct {
				TimeoutMS int64 `json:"timeout_ms"`
				Local     bool  `json:"local"`
			}
			_ = json.Unmarshal(f.Options, &o) // a handler without options has no timeout of its own
			if o.Local {
				break // served on its service's port only (band.Local)
			}
			if o.TimeoutMS > 0 {
				return time.Duration(o.TimeoutMS) * time.Millisecond, nil
			}
			return g.set.HandlerTimeout, nil
		}
	}
	return 0, &band.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("no service announced a handler %s/%s", service, name)}
}

// handle calls the handler over the bus with ev.
func (g *Gateway) handle(ctx context.Context, b bus.Bus, ev *bus.Event, timeout time.Duration) (band.Reply, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return band.Reply{}, fmt.Errorf("gateway: encode the event %s: %w", ev.Key, err)
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := b.Call(hctx, ev.Service, ev.Name, body)
	var ce *bus.CallError
	switch {
	case err == nil:
	case errors.Is(err, bus.ErrNoRoute):
		return band.Reply{}, &band.Error{Status: http.StatusServiceUnavailable, Message: fmt.Sprintf("no replica of %s is running", ev.Service), Err: err}
	case errors.As(err, &ce):
		return band.Reply{}, &band.Error{Status: http.StatusBadGateway, Message: fmt.Sprintf("%s/%s failed without an answer", ev.Service, ev.Name), Err: err}
	case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		return band.Reply{}, &band.Error{Status: http.StatusGatewayTimeout, Message: fmt.Sprintf("%s/%s did not answer within %v", ev.Service, ev.Name, timeout), Err: err}
	default:
		return band.Reply{}, fmt.Errorf("gateway: call %s/%s: %w", ev.Service, ev.Name, err)
	}
	var rp band.Reply
	if err := json.Unmarshal(out, &rp); err != nil {
		return band.Reply{}, &band.Error{Status: http.StatusBadGateway, Message: fmt.Sprintf("%s/%s answered something that is not a reply", ev.Service, ev.Name), Err: err}
	}
	return rp, nil
}
