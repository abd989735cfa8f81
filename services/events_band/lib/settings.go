// Package lib is events_band's listener: every event it receives is
// appended to a file as one JSON line.
package lib

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rococo-go/rococo/common/jsonl"
	"github.com/rococo-go/rococo/rococo/bus"
)

// Settings are events_band's settings (config.yaml).
type Settings struct {
	// File is where the events are appended, one JSON line each.
	File string `yaml:"file"`
}

// Validate checks the settings (at start: an error exits 2).
func (s *Settings) Validate() error {
	if s.File == "" {
		return errors.New("file is empty: set EVENTS_FILE or file to the path the events are appended to")
	}
	return nil
}

// Writer appends events to the settings' file, opened at the first event.
type Writer struct {
	set *Settings
	mu  sync.Mutex
	f   *jsonl.File
}

// New returns the writer of set.
func New(set *Settings) *Writer { return &Writer{set: set} }

func (w *Writer) file() (*jsonl.File, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		f, err := jsonl.Open(w.set.File)
		if err != nil {
			return nil, fmt.Errorf("open the events file: %w", err)
		}
		w.f = f
	}
	return w.f, nil
}

// Write appends ev as one JSON line.
func (w *Writer) Write(_ context.Context, ev bus.Event) error {
	f, err := w.file()
	if err != nil {
		return err
	}
	if err := f.Append(ev); err != nil {
		return fmt.Errorf("append the event %s: %w", ev.ID, err)
	}
	return nil
}

// Close closes the file; run it as a cleanup.
func (w *Writer) Close(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	return w.f.Close()
}
