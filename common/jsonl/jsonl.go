// Package jsonl provides a file that services append JSON lines to, safe for
// concurrent use: an outbox, an export, a record of what was processed.
package jsonl

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
)

// File appends one JSON line per value to a file opened with O_APPEND, one
// write per line under a lock, so lines from concurrent goroutines never
// interleave.
type File struct {
	mu sync.Mutex
	f  *os.File
}

// Open opens the file at path for appending, creating it (mode 0644) when
// missing.
func Open(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &File{f: f}, nil
}

// Append writes v as one JSON line.
func (f *File) Append(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	line = append(line, '\n')
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err = f.f.Write(line)
	return err
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }
