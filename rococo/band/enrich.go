package band

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/rococo-go/rococo/rococo/band/internal/eventpath"
	"github.com/rococo-go/rococo/rococo/bus"
)

// RoleEnricher is the role of an enricher (Enrich) in /status.
const RoleEnricher = "enricher"

// EnrichOption configures an enricher.
type EnrichOption interface{ applyEnrich(*enricher) error }

type aliasOption string

// Alias names the key under data where the gateway merges the enricher's
// answer: data.<alias> instead of data.<service>.
func Alias(alias string) EnrichOption { return aliasOption(alias) }

func (o aliasOption) applyEnrich(e *enricher) error {
	if !nameRE.MatchString(string(o)) {
		return fmt.Errorf("band.Alias(%q): want a word (letters, digits, _ and -)", string(o))
	}
	e.alias = string(o)
	return nil
}

// enricher is a registered enricher.
type enricher struct {
	patterns []bus.Pattern
	props    map[string]string
	alias    string
	// call decodes the props' values into In, calls the function and
	// encodes its answer.
	call func(ctx context.Context, args []byte) ([]byte, error)
}

// Enrich registers fn as an enricher: the gateway calls it, over the bus,
// for every hit whose event key matches one of patterns (the broker's topic
// rules: '*' one word, '#' zero or more; a key without a wildcard, such as
// Band's "in.gen.track", also matches every key below it), and merges its
// answer into the event under data.<service> (or data.<alias>, see Alias)
// before the handler and the listeners see it.
//
// props maps each argument of In (its json name) to a dot-path in the
// event: "td.ip", "td.ua", "td.ref", "td.host", "data.<name>..." (the hit's
// query and body, and what other enrichers added), "key", "uid", "id",
// "time", "service", "name", "projectId". The enricher receives these
// arguments and nothing else, as a JSON object decoded into In (a missing
// value leaves its field alone); if *In has Validate() error it runs next.
// fn's answer is sent as JSON; its error reaches the gateway as an error,
// recorded beside the event's data, never as data. The gateway calls it
// under one deadline for all enrichers (its ctx ends there); a request
// whose deadline passed before it arrived is dropped unanswered.
func Enrich[In, Out any](s *Service, name string, patterns []string, props map[string]string, fn func(ctx context.Context, in In) (Out, error), opts ...EnrichOption) {
	if fn == nil {
		s.fail(&RegistrationError{Function: name, Problem: "the enricher's function is nil", Fix: "pass a func(ctx context.Context, in In) (Out, error)"})
		return
	}
	if len(patterns) == 0 {
		s.fail(&RegistrationError{Function: name, Problem: "the enricher has no key pattern", Fix: `pass the keys it enriches, such as []string{"in.gen.track"} or []string{"in.gen.#"}`})
		return
	}
	ps, err := bus.ParsePatterns(patterns)
	if err != nil {
		s.fail(&RegistrationError{Function: name, Problem: err.Error(), Fix: "write the pattern as said"})
		return
	}
	if len(props) == 0 {
		s.fail(&RegistrationError{Function: name, Problem: "the enricher has no props", Fix: `map each argument to a path in the event, such as map[string]string{"ip": "td.ip"}`})
		return
	}
	for _, arg := range slices.Sorted(maps.Keys(props)) {
		if arg == "" {
			s.fail(&RegistrationError{Function: name, Problem: "a prop has an empty argument name", Fix: "name each argument as its json field in the input type"})
			return
		}
		if err := eventpath.Check(props[arg]); err != nil {
			s.fail(&RegistrationError{Function: name, Problem: fmt.Sprintf("the prop %q: %v", arg, err), Fix: "correct the path"})
			return
		}
	}
	t := reflect.TypeFor[In]()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct && t.Kind() != reflect.Map {
		s.fail(&RegistrationError{Function: name, Problem: fmt.Sprintf("the input type %s is neither a struct nor a map", t), Fix: "take a struct whose json names are the props' arguments"})
		return
	}
	e := &enricher{patterns: ps, props: maps.Clone(props), call: enrichCaller(fn)}
	for _, o := range opts {
		if err := o.applyEnrich(e); err != nil {
			s.fail(&RegistrationError{Function: name, Problem: err.Error(), Fix: "pass a valid value"})
			return
		}
	}
	s.add(&function{name: name, role: RoleEnricher, enricher: e})
}

// Enrichers returns the names of the registered enrichers, in registration
// order.
func (s *Service) Enrichers() []string {
	var out []string
	for _, f := range s.fns {
		if f.enricher != nil {
			out = append(out, f.name)
		}
	}
	return out
}

// enrichCaller returns the function decoding the arguments into a new In,
// calling fn and encoding its answer.
func enrichCaller[In, Out any](fn func(context.Context, In) (Out, error)) func(context.Context, []byte) ([]byte, error) {
	pointer := reflect.TypeFor[In]().Kind() == reflect.Pointer
	return func(ctx context.Context, args []byte) ([]byte, error) {
		var in In
		if pointer {
			in = reflect.New(reflect.TypeFor[In]().Elem()).Interface().(In)
			if err := json.Unmarshal(args, in); err != nil {
				return nil, fmt.Errorf("the arguments do not decode: %w", err)
			}
		} else if err := json.Unmarshal(args, &in); err != nil {
			return nil, fmt.Errorf("the arguments do not decode: %w", err)
		}
		var v any = &in
		if pointer {
			v = in
		}
		if val, ok := v.(validator); ok {
			if err := val.Validate(); err != nil {
				return nil, fmt.Errorf("invalid arguments: %w", err)
			}
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("the answer does not encode as JSON: %w", err)
		}
		return b, nil
	}
}

// enricherOptions are an enricher's options in /status, which the gateway
// reads from the registry.
func enricherOptions(e *enricher) map[string]any {
	patterns := make([]string, len(e.patterns))
	for i, p := range e.patterns {
		patterns[i] = p.String()
	}
	o := map[string]any{"patterns": patterns, "props": e.props}
	if e.alias != "" {
		o["alias"] = e.alias
	}
	return o
}
