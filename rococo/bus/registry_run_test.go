package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/bus"
	"github.com/rococo-go/rococo/rococo/bus/bustest"
)

func TestRegistryRunSkipsBadAnnouncements(t *testing.T) {
	var b bustest.Bus
	r := bus.NewRegistry(time.Minute, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, &b, nil) }()
	for b.Watching() == 0 {
		time.Sleep(time.Millisecond)
	}
	for _, doc := range []string{`{`, `{"service":"w","functions":[{"name":"s","role":"listener","options":{"patterns":["in.gen.track"]}}]}`} {
		if err := b.Announce(ctx, []byte(doc)); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if fs := r.Match("listener", "in.gen.track.hit"); len(fs) != 1 || fs[0].Service != "w" {
		t.Fatalf("Match after a bad and a good announcement = %+v", fs)
	}
}
