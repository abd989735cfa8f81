// Package bustest is an in-memory bus.Bus for unit tests: published events
// are recorded, calls reach the handlers served in the same process,
// announcements reach the watchers. Integration tests use the RabbitMQ bus.
package bustest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/rococo-go/rococo/rococo/bus"
)

// Bus is an in-memory bus.Bus. The zero value is ready to use.
type Bus struct {
	mu       sync.Mutex
	events   []bus.Event
	servers  map[string][]server // by service.function
	next     map[string]int      // round robin among the replicas
	watchers map[int]watcher
	nextID   int
}

type server struct {
	id int
	h  bus.CallHandler
}

type watcher struct {
	ch   chan []byte
	done <-chan struct{} // the watcher's ctx
}

var _ bus.Bus = (*Bus)(nil)

// Publish records ev.
func (b *Bus) Publish(ctx context.Context, ev bus.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bustest: publish %s: %w", ev.Key, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, ev)
	return nil
}

// Events returns the events published so far, in order.
func (b *Bus) Events() []bus.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

// Call runs the handler of one of the replicas serving service's function,
// in turn, under ctx.
func (b *Bus) Call(ctx context.Context, service, function string, body []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, bus.ErrNoDeadline
	}
	key := service + "." + function
	b.mu.Lock()
	hs := b.servers[key]
	if len(hs) == 0 {
		b.mu.Unlock()
		return nil, fmt.Errorf("bustest: call %s: %w", key, bus.ErrNoRoute)
	}
	h := hs[b.next[key]%len(hs)].h
	b.next[key]++
	b.mu.Unlock()

	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := h(ctx, slices.Clone(body))
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, &bus.CallError{Service: service, Function: function, Message: r.err.Error()}
		}
		return r.out, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("bustest: call %s: %w", key, ctx.Err())
	}
}

// Serve makes h a replica of service's function until ctx ends.
func (b *Bus) Serve(ctx context.Context, service, function string, h bus.CallHandler) error {
	key := service + "." + function
	b.mu.Lock()
	if b.servers == nil {
		b.servers, b.next = map[string][]server{}, map[string]int{}
	}
	id := b.nextID
	b.nextID++
	b.servers[key] = append(b.servers[key], server{id: id, h: h})
	b.mu.Unlock()
	<-ctx.Done()
	b.mu.Lock()
	b.servers[key] = slices.DeleteFunc(b.servers[key], func(s server) bool { return s.id == id })
	b.mu.Unlock()
	return nil
}

// Serving reports how many replicas serve service's function; tests wait
// for it before calling.
func (b *Bus) Serving(service, function string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.servers[service+"."+function])
}

// Announce hands doc to every watcher.
func (b *Bus) Announce(ctx context.Context, doc []byte) error {
	b.mu.Lock()
	ws := make([]watcher, 0, len(b.watchers))
	for _, w := range b.watchers {
		ws = append(ws, w)
	}
	b.mu.Unlock()
	for _, w := range ws {
		select {
		case w.ch <- slices.Clone(doc):
		case <-w.done: // that watcher stopped
		case <-ctx.Done():
			return fmt.Errorf("bustest: announce: %w", ctx.Err())
		}
	}
	return nil
}

// Watch calls f with every announcement until ctx ends.
func (b *Bus) Watch(ctx context.Context, f func(doc []byte)) error {
	ch := make(chan []byte)
	b.mu.Lock()
	if b.watchers == nil {
		b.watchers = map[int]watcher{}
	}
	id := b.nextID
	b.nextID++
	b.watchers[id] = watcher{ch: ch, done: ctx.Done()}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.watchers, id)
		b.mu.Unlock()
	}()
	for {
		select {
		case doc := <-ch:
			f(doc)
		case <-ctx.Done():
			return nil
		}
	}
}

// Watching reports how many watchers are registered; tests wait for it
// before announcing.
func (b *Bus) Watching() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.watchers)
}
