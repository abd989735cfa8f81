package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/band/internal/eventpath"
	"github.com/rococo-go/rococo/rococo/bus"
)

// What the gateway records for an enricher that did not answer in time.
const (
	Timeout = "timeout"
)

// enricherOptions are what an enricher announces in /status.
type enricherOptions struct {
	Props map[string]string `json:"props"`
	Alias string            `json:"alias"`
}

type answer struct {
	fn   bus.Function
	into string // data's key: the alias, else the service
	out  []byte
	err  error
}

// enrich calls every enricher matching ev's key concurrently, each with its
// own props, under one deadline, and merges the answers that arrived in
// time under ev.Data[<alias or service>]. It returns as soon as every
// expected answer is in, or at the deadline. Timeouts and errors are
// recorded in ev.Enrich ("<service>.<function>" -> "timeout" or the error),
// never in the data.
func (g *Gateway) enrich(ctx context.Context, b bus.Bus, ev *bus.Event) {
	fns := g.reg.Match(band.RoleEnricher, ev.Key)
	if len(fns) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, g.set.EnrichTimeout)
	defer cancel()
	answers := make(chan answer, len(fns))
	pending := make(map[string]bool, len(fns))
	for _, fn := range fns {
		var o enricherOptions
		if len(fn.Options) > 0 {
			if err := json.Unmarshal(fn.Options, &o); err != nil {
				g.note(ev, fn, fmt.Errorf("its announced options do not decode: %w", err))
				continue
			}
		}
		args, err := json.Marshal(props(ev, o.Props))
		if err != nil {
			g.note(ev, fn, fmt.Errorf("its arguments do not encode: %w", err))
			continue
		}
		into := o.Alias
		if into == "" {
			into = fn.Service
		}
		pending[fn.Service+"."+fn.Name] = true
		go func() {
			out, err := b.Call(ctx, fn.Service, fn.Name, args)
			answers <- answer{fn: fn, into: into, out: out, err: err}
		}()
	}
	// Answers are merged in the order they arrive; two enrichers merging
	// under the same key merge their objects' keys.
	for len(pending) > 0 {
		select {
		case a := <-answers:
			delete(pending, a.fn.Service+"."+a.fn.Name)
			g.merge(ev, a)
		case <-ctx.Done():
			for name := range pending {
				g.recordTimeout(ev, name)
			}
			return
		}
	}
}

// props returns the enricher's arguments: each prop's value in ev, missing
// ones left out.
func props(ev *bus.Event, ps map[string]string) map[string]any {
	args := make(map[string]any, len(ps))
	for arg, path := range ps {
		if eventpath.Check(path) != nil {
			continue
		}
		if v, ok := eventpath.Lookup(ev, path); ok {
			args[arg] = v
		}
	}
	return args
}

func (g *Gateway) merge(ev *bus.Event, a answer) {
	if a.err != nil {
		if errors.Is(a.err, context.DeadlineExceeded) {
			g.recordTimeout(ev, a.fn.Service+"."+a.fn.Name)
			return
		}
		g.note(ev, a.fn, a.err)
		return
	}
	var v any
	if err := json.Unmarshal(a.out, &v); err != nil {
		g.note(ev, a.fn, fmt.Errorf("its answer is not JSON: %w", err))
		return
	}
	if v == nil {
		return
	}
	prev, _ := ev.Data[a.into].(map[string]any)
	next, _ := v.(map[string]any)
	if prev != nil && next != nil {
		merged := maps.Clone(prev)
		maps.Copy(merged, next)
		v = merged
	}
	ev.Data[a.into] = v
}

func (g *Gateway) recordTimeout(ev *bus.Event, name string) {
	if ev.Enrich == nil {
		ev.Enrich = map[string]string{}
	}
	ev.Enrich[name] = Timeout
	g.log.Debug("enricher timed out", "enricher", name, "key", ev.Key, "timeout", g.set.EnrichTimeout)
}

// note records an enricher's error.
func (g *Gateway) note(ev *bus.Event, fn bus.Function, err error) {
	name := fn.Service + "." + fn.Name
	if ev.Enrich == nil {
		ev.Enrich = map[string]string{}
	}
	msg := err.Error()
	var ce *bus.CallError
	switch {
	case errors.As(err, &ce):
		msg = ce.Message
	case errors.Is(err, bus.ErrNoRoute):
		msg = "no replica is running"
	}
	ev.Enrich[name] = "error: " + msg
	g.log.Debug("enricher failed", "enricher", name, "key", ev.Key, "error", err)
}
