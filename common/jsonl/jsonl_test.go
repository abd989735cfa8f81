package jsonl

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestAppendConcurrentLinesStayWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.Append(map[string]int{"n": i}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening appends after what is there.
	if f, err = Open(path); err != nil {
		t.Fatal(err)
	}
	if err := f.Append(map[string]int{"n": 50}); err != nil {
		t.Fatal(err)
	}
	f.Close()

	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	seen := map[int]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var v struct{ N int }
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		seen[v.N] = true
	}
	if len(seen) != 51 {
		t.Errorf("file has %d distinct lines, want 51", len(seen))
	}
}

func TestAppendAndOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing", "out.jsonl")); err == nil {
		t.Error("Open() in a missing directory = nil error")
	}
	f, err := Open(filepath.Join(t.TempDir(), "out.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Append(func() {}); err == nil {
		t.Error("Append(func) = nil error, want an encoding error")
	}
}
