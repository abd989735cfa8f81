package eventpath_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/band/internal/eventpath"
	"github.com/rococo-go/rococo/rococo/bus"
)

func TestCheck(t *testing.T) {
	tests := []struct{ path, wantErr string }{
		{"td.ip", ""}, {"td.ua", ""}, {"data", ""}, {"data.utm.source", ""}, {"uid", ""}, {"projectId", ""},
		{"", "empty word"}, {"td..ip", "empty word"}, {"td", "not one of td.ip"}, {"td.cookie", "not one of td.ip"},
		{"headers.ua", "not a field of the event"}, {"key.x", "single value"},
	}
	for _, tc := range tests {
		err := eventpath.Check(tc.path)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("Check(%q) = %v, want %q", tc.path, err, tc.wantErr)
		}
	}
}

func TestLookup(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := &bus.Event{ID: "i", Key: "in.gen.a.b", Time: now, Service: "a", Name: "b", ProjectID: 7,
		TD:   bus.TD{IP: "192.0.2.1", UA: "ua"},
		Data: map[string]any{"page": "/p", "utm": map[string]any{"source": "mail"}, "n": 2.0}}
	tests := []struct {
		path string
		want any
		ok   bool
	}{
		{"td.ip", "192.0.2.1", true}, {"td.ua", "ua", true}, {"td.ref", nil, false}, {"key", "in.gen.a.b", true},
		{"time", now, true}, {"projectId", int64(7), true}, {"uid", nil, false},
		{"data.page", "/p", true}, {"data.utm.source", "mail", true}, {"data.n", 2.0, true},
		{"data.utm.medium", nil, false}, {"data.page.x", nil, false}, {"data.none", nil, false},
	}
	for _, tc := range tests {
		got, ok := eventpath.Lookup(ev, tc.path)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
	if got, ok := eventpath.Lookup(ev, "data"); !ok || got.(map[string]any)["page"] != "/p" {
		t.Errorf("Lookup(data) = %v, %v; want the data", got, ok)
	}
}
