package lib

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rococo-go/rococo/common/appconfig"
	"github.com/rococo-go/rococo/rococo"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		email Email
		ok    bool
	}{
		{"valid", Email{ID: "1", To: "a@example.com", Subject: "hi"}, true},
		{"named address", Email{ID: "2", To: "Ann <a@example.com>", Subject: "hi"}, true},
		{"no at", Email{ID: "3", To: "nobody", Subject: "hi"}, false},
		{"empty recipient", Email{ID: "4", Subject: "hi"}, false},
		{"blank subject", Email{ID: "5", To: "a@example.com", Subject: "  "}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.email.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !rococo.IsPermanent(err) {
				t.Errorf("Validate() = %v, want a permanent error", err)
			}
		})
	}
}

type memOutbox struct {
	mu   sync.Mutex
	sent []Sent
}

func (m *memOutbox) Deliver(_ context.Context, s Sent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, s)
	return nil
}

func TestMailerSend(t *testing.T) {
	tests := []struct {
		name      string
		email     Email
		wantErr   error
		permanent bool
		sent      int
	}{
		{"delivered", Email{ID: "1", To: "a@example.com", Subject: "s"}, nil, false, 1},
		{"invalid is permanent", Email{ID: "2", To: "bad", Subject: "s"}, nil, true, 0},
		{"fail domain is temporary", Email{ID: "3", To: "b@Fail.Example", Subject: "s"}, ErrTemporary, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := &memOutbox{}
			m := &Mailer{Outbox: out, FailDomain: "fail.example"}
			err := m.Send(context.Background(), tc.email, 2, true)
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Send() = %v, want %v", err, tc.wantErr)
			}
			if rococo.IsPermanent(err) != tc.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, !tc.permanent, tc.permanent)
			}
			if len(out.sent) != tc.sent {
				t.Fatalf("sent %d, want %d", len(out.sent), tc.sent)
			}
			if tc.sent == 1 && (out.sent[0].Attempt != 2 || !out.sent[0].Redelivered || out.sent[0].ID != tc.email.ID) {
				t.Errorf("sent = %+v", out.sent[0])
			}
		})
	}
}

func TestMailerDelayHonoursContext(t *testing.T) {
	m := &Mailer{Outbox: &memOutbox{}, Delay: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := m.Send(ctx, Email{ID: "1", To: "a@example.com", Subject: "s"}, 1, false)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send() = %v, want DeadlineExceeded", err)
	}
}

func TestFileOutboxConcurrentLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	o, err := OpenFileOutbox(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.Deliver(context.Background(), Sent{Email: Email{ID: string(rune('A' + i%26)), To: "a@example.com", Subject: "s"}, Attempt: 1}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s Sent
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("line %d %q: %v", n, sc.Text(), err)
		}
		n++
	}
	if n != 50 {
		t.Errorf("outbox has %d lines, want 50", n)
	}
}

func TestNewMailerFromEnv(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"defaults", nil, true},
		{"file and delay", map[string]string{EnvOutboxFile: filepath.Join(dir, "o"), EnvSendDelay: "5ms", EnvFailDomain: "x.example"}, true},
		{"bad delay", map[string]string{EnvSendDelay: "soon"}, false},
		{"negative delay", map[string]string{EnvSendDelay: "-1s"}, false},
		{"unwritable file", map[string]string{EnvOutboxFile: filepath.Join(dir, "missing", "o")}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, closeFn, err := NewMailerFromEnv(appconfig.FromMap(tc.env), nil)
			if (err == nil) != tc.ok {
				t.Fatalf("NewMailerFromEnv() error = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				return
			}
			defer closeFn()
			if m.Outbox == nil {
				t.Error("Outbox = nil")
			}
			if tc.env[EnvSendDelay] == "5ms" && (m.Delay != 5*time.Millisecond || m.FailDomain != "x.example") {
				t.Errorf("mailer = %+v", m)
			}
		})
	}
}
