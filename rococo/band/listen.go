package band

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/bus"
)

// RoleListener is the role of a function registered with Listen.
const RoleListener = "listener"

type listener struct {
	fn       func(context.Context, bus.Event) error
	patterns []bus.Pattern
}

// Listen registers fn to receive every event whose key matches one of
// patterns (the broker's topic rules: words separated by '.', '*' one word,
// '#' zero or more; a pattern without a wildcard such as "in.gen.track" is a
// prefix, "in.gen.track.#"). The host gives the listener a durable queue of
// its own, "<service>.<name>", bound to each pattern on the events exchange:
// events published while no replica runs wait in it, and replicas of the
// service compete on it, each event reaching one. An event is acknowledged
// when fn returns nil; an error or a panic retries it with backoff
// (MAX_RETRIES, RETRY_BACKOFF) and then moves it to the dead-letter queue,
// at once for an error wrapped with rococo.Permanent. Listeners need
// MESSAGING_TYPE=RabbitMqConnection: SQS has no topic routing.
func Listen(s *Service, name string, patterns []string, fn func(ctx context.Context, ev bus.Event) error) {
	if fn == nil {
		s.fail(&RegistrationError{Function: name, Problem: "the listener's function is nil", Fix: "pass a func(ctx context.Context, ev bus.Event) error"})
		return
	}
	if len(patterns) == 0 {
		s.fail(&RegistrationError{Function: name, Problem: "the listener has no key pattern", Fix: `pass the keys it receives, such as "in.gen.track" or "in.gen.*.hit"`})
		return
	}
	ps, err := bus.ParsePatterns(patterns)
	if err != nil {
		s.fail(&RegistrationError{Function: name, Problem: err.Error(), Fix: "write each pattern as words separated by '.', with '*' or '#' as whole words"})
		return
	}
	s.add(&function{name: name, role: RoleListener, listener: &listener{fn: fn, patterns: ps}})
}

// Listener is a registered listener, for the host that consumes its queue.
type Listener struct {
	// Name is the function's name.
	Name string
	// Patterns are the keys it receives, as bound on the events exchange.
	Patterns []bus.Pattern
	// Process decodes one message of the listener's queue as a bus.Event
	// and calls the function; a body that is not an event is a permanent
	// error (it goes to the dead-letter queue at once).
	Process rococo.MessageProcessorFunc
}

// ListenerQueue is the queue of service's listener name.
func ListenerQueue(service, name string) string { return service + "." + name }

// Listeners returns the registered listeners, in registration order.
func (s *Service) Listeners() []Listener {
	var out []Listener
	for _, f := range s.fns {
		if f.listener == nil {
			continue
		}
		l, name := f.listener, f.name
		out = append(out, Listener{Name: name, Patterns: l.patterns, Process: func(ctx context.Context, msg *rococo.Message) error {
			var ev bus.Event
			if err := json.Unmarshal(msg.Body, &ev); err != nil {
				return rococo.Permanent(fmt.Errorf("listener %s: the message %q is not an event: %w", name, msg.ID, err))
			}
			return l.fn(ctx, ev)
		}})
	}
	return out
}

func listenerOptions(l *listener) map[string]any {
	ps := make([]string, len(l.patterns))
	for i, p := range l.patterns {
		ps[i] = p.String()
	}
	return map[string]any{"patterns": ps}
}
