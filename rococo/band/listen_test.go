package band_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/bus"
	"github.com/rococo-go/rococo/rococo/config"
)

func TestListen_registration_mistakes(t *testing.T) {
	store := func(context.Context, bus.Event) error { return nil }
	tests := []struct {
		name     string
		register func(s *band.Service)
		want     string
	}{
		{"nil function", func(s *band.Service) { band.Listen(s, "store", []string{"in.gen.track"}, nil) }, "store: the listener's function is nil"},
		{"no pattern", func(s *band.Service) { band.Listen(s, "store", nil, store) }, "store: the listener has no key pattern"},
		{"bad pattern", func(s *band.Service) { band.Listen(s, "store", []string{"in..track"}, store) }, `store: the key pattern "in..track" has an empty word`},
		{"bad name", func(s *band.Service) { band.Listen(s, "st.ore", []string{"#"}, store) }, "the listener's name is not a word"},
		{"taken name", func(s *band.Service) { s.Worker("store", nop); band.Listen(s, "store", []string{"#"}, store) }, "store: the name is taken by a worker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := band.New()
			tt.register(s)
			_, err := s.Configure("svc", t.TempDir(), config.EnvMap(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Configure = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestListen_status_and_process(t *testing.T) {
	s := band.New()
	var got []bus.Event
	fail := errors.New("db down")
	band.Listen(s, "store", []string{"in.gen.track", "in.gen.*.hit"}, func(_ context.Context, ev bus.Event) error {
		got = append(got, ev)
		if ev.Name == "fail" {
			return fail
		}
		return nil
	})
	if _, err := s.Configure("svc", t.TempDir(), config.EnvMap(nil)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Runner(band.Runtime{})
	if err != nil {
		t.Fatal(err)
	}
	fns := r.Functions()
	if len(fns) != 1 || fns[0].Role != band.RoleListener || fns[0].Name != "store" {
		t.Fatalf("Functions = %+v", fns)
	}
	if ps, _ := fns[0].Options["patterns"].([]string); strings.Join(ps, " ") != "in.gen.track.# in.gen.*.hit" {
		t.Fatalf("the listener's patterns in /status: %v", fns[0].Options)
	}

	ls := s.Listeners()
	if len(ls) != 1 || band.ListenerQueue("svc", ls[0].Name) != "svc.store" {
		t.Fatalf("Listeners = %+v", ls)
	}
	ctx := context.Background()
	if err := ls[0].Process(ctx, &rococo.Message{Body: []byte(`{"id":"1","key":"in.gen.track.hit","name":"hit","td":{"ip":"1.2.3.4"}}`)}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "1" || got[0].TD.IP != "1.2.3.4" {
		t.Fatalf("the listener got %+v", got)
	}
	if err := ls[0].Process(ctx, &rococo.Message{Body: []byte(`{"name":"fail"}`)}); !errors.Is(err, fail) || rococo.IsPermanent(err) {
		t.Fatalf("a failing listener: %v, want its error, retryable", err)
	}
	if err := ls[0].Process(ctx, &rococo.Message{ID: "m", Body: []byte(`not json`)}); !rococo.IsPermanent(err) {
		t.Fatalf("a body that is not an event: %v, want a permanent error", err)
	}
}
