package report_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/report"
)

// rollbarServer stands in for api.rollbar.com on 127.0.0.1 and keeps the
// items posted to it.
type rollbarServer struct {
	mu     sync.Mutex
	items  []string
	tokens []string
	*httptest.Server
}

func newRollbarServer(t *testing.T) *rollbarServer {
	s := &rollbarServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.items = append(s.items, string(b))
		s.tokens = append(s.tokens, r.Header.Get("X-Rollbar-Access-Token"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"err":0,"result":{"uuid":"x"}}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *rollbarServer) Items() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.items...)
}

func TestRollbarPostsErrorsAndPanics(t *testing.T) {
	srv := newRollbarServer(t)
	r := report.NewRollbar("token-123", "test", "email-service", "1.2.3", report.WithEndpoint(srv.URL+"/api/1/item/"), report.WithHTTPClient(srv.Client()))
	r.Report(context.Background(), errors.New("smtp down"), slog.String("queue", "emails"), slog.Int("attempt", 2),
		slog.Group("g", slog.Bool("b", true)))
	r.Report(context.Background(), panicky(), slog.String("message_id", "m-9"))
	r.Report(context.Background(), nil) // ignored

	closed := make(chan error, 1)
	go func() { closed <- r.(io.Closer).Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close() = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10s")
	}

	items := srv.Items()
	if len(items) != 2 {
		t.Fatalf("server got %d items, want 2: %q", len(items), items)
	}
	srv.mu.Lock()
	for _, tok := range srv.tokens {
		if tok != "token-123" {
			t.Errorf("X-Rollbar-Access-Token = %q, want token-123", tok)
		}
	}
	srv.mu.Unlock()
	var errItem, panicItem string
	for _, it := range items {
		var v map[string]any
		if err := json.Unmarshal([]byte(it), &v); err != nil {
			t.Fatalf("item is not JSON: %v", err)
		}
		switch {
		case strings.Contains(it, "smtp down"):
			errItem = it
		case strings.Contains(it, "assignment to entry in nil map"):
			panicItem = it
		}
	}
	for _, want := range []string{`"environment":"test"`, `"code_version":"1.2.3"`, `"service":"email-service"`, `"queue":"emails"`, `"attempt":2`, `"g.b":"true"`, `"level":"error"`} {
		if !strings.Contains(errItem, want) {
			t.Errorf("error item lacks %s:\n%s", want, errItem)
		}
	}
	// The panic's own stack, not the reporter's caller, is in the item.
	for _, want := range []string{`.panicky`, `"message_id":"m-9"`} {
		if !strings.Contains(panicItem, want) {
			t.Errorf("panic item lacks %s:\n%s", want, panicItem)
		}
	}
}

func TestNewRollbarWithoutTokenIsNop(t *testing.T) {
	if r := report.NewRollbar("", "test", "svc", "1"); r != report.Nop {
		t.Errorf("NewRollbar(\"\") = %T, want Nop", r)
	}
}

// hangingServer accepts connections on 127.0.0.1 and never answers.
func hangingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String() + "/api/1/item/"
}

// TestRollbarCloseIsBounded: with an endpoint that accepts connections and
// never answers, Close returns an error at its close timeout instead of
// hanging the shutdown.
func TestRollbarCloseIsBounded(t *testing.T) {
	tests := []struct {
		name  string
		opts  []report.RollbarOption
		limit time.Duration
	}{
		{"shutdown deadline", []report.RollbarOption{report.WithCloseTimeout(time.Second)}, time.Second},
		{"default", nil, report.DefaultCloseTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]report.RollbarOption{report.WithEndpoint(hangingServer(t))}, tt.opts...)
			r := report.NewRollbar("token", "test", "svc", "1", opts...)
			r.Report(context.Background(), errors.New("boom"))
			start := time.Now()
			closed := make(chan error, 1)
			go func() { closed <- r.(io.Closer).Close() }()
			select {
			case err := <-closed:
				if err == nil {
					t.Error("Close() = nil with an item that could not be sent, want an error")
				}
				if took := time.Since(start); took < tt.limit-100*time.Millisecond {
					t.Errorf("Close returned after %v, before its timeout %v", took, tt.limit)
				}
			case <-time.After(tt.limit + 3*time.Second):
				t.Fatalf("Close did not return within %v", tt.limit+3*time.Second)
			}
		})
	}
}
