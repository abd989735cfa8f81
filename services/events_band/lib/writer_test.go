package lib_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rococo-go/rococo/rococo/bus"
	"github.com/rococo-go/rococo/services/events_band/lib"
)

func TestWriteAppendsOneLinePerEvent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	set := &lib.Settings{File: path}
	w := lib.New(set)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			ev := bus.Event{ID: string(rune('a' + i%26)), Key: "in.gen.a.b", Data: map[string]any{"i": i}}
			if err := w.Write(context.Background(), ev); err != nil {
				t.Errorf("Write() = %v", err)
			}
		})
	}
	wg.Wait()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	seen := map[float64]bool{}
	for _, l := range lines {
		var ev bus.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		seen[ev.Data["i"].(float64)] = true
	}
	if len(lines) != 50 || len(seen) != 50 {
		t.Errorf("%d lines, %d distinct events; want 50", len(lines), len(seen))
	}
}

func TestWriteFailsWhenTheFileCannotOpen(t *testing.T) {
	w := lib.New(&lib.Settings{File: filepath.Join(t.TempDir(), "missing", "events.jsonl")})
	if err := w.Write(context.Background(), bus.Event{ID: "x"}); err == nil || !strings.Contains(err.Error(), "open the events file") {
		t.Errorf("Write() = %v, want the open error (the router retries it)", err)
	}
}

func TestValidate(t *testing.T) {
	if err := (&lib.Settings{}).Validate(); err == nil || !strings.Contains(err.Error(), "EVENTS_FILE") {
		t.Errorf("Validate() = %v, want an error naming EVENTS_FILE", err)
	}
	if err := (&lib.Settings{File: "x"}).Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}
