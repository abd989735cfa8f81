package report_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/report"
)

type recorded struct {
	err   error
	attrs []slog.Attr
}

type recorder struct {
	mu  sync.Mutex
	got []recorded
}

func (r *recorder) Report(_ context.Context, err error, attrs ...slog.Attr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, recorded{err, attrs})
}

func TestMiddleware(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name       string
		handler    rococo.Handler
		cancelled  bool
		wantReport bool
	}{
		{"success is not reported", func(context.Context, *rococo.Message) error { return nil }, false, false},
		{"error is reported", func(context.Context, *rococo.Message) error { return boom }, false, true},
		{"permanent error is reported", func(context.Context, *rococo.Message) error { return rococo.Permanent(boom) }, false, true},
		{"own ctx cancelled is not reported", func(ctx context.Context, _ *rococo.Message) error { return ctx.Err() }, true, false},
		{"other error after cancel is reported", func(context.Context, *rococo.Message) error { return boom }, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancelled {
				cancel()
			}
			defer cancel()
			msg := &rococo.Message{ID: "m1", Queue: "q", Attempt: 3}
			err := report.Middleware(rec)(tc.handler)(ctx, msg)
			if len(rec.got) != map[bool]int{true: 1}[tc.wantReport] {
				t.Fatalf("reports = %d, want report=%v", len(rec.got), tc.wantReport)
			}
			if !tc.wantReport {
				return
			}
			if rec.got[0].err != err {
				t.Errorf("reported %v, handler returned %v", rec.got[0].err, err)
			}
			got := map[string]string{}
			for _, a := range rec.got[0].attrs {
				got[a.Key] = a.Value.String()
			}
			want := map[string]string{"queue": "q", "message_id": "m1", "attempt": "3"}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("attr %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestMiddlewareNilReporter(t *testing.T) {
	err := report.Middleware(nil)(func(context.Context, *rococo.Message) error { return errors.New("x") })(context.Background(), &rococo.Message{})
	if err == nil || err.Error() != "x" {
		t.Errorf("err = %v, want x", err)
	}
	report.Nop.Report(context.Background(), errors.New("x"))
}

func panicky() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = report.NewPanicError(v)
		}
	}()
	var m map[string]int
	m["x"] = 1 // nil map write panics
	return nil
}

func TestPanicError(t *testing.T) {
	err := panicky()
	var pe *report.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %T, want *PanicError", err)
	}
	if !strings.HasPrefix(pe.Error(), "panic: assignment to entry in nil map") {
		t.Errorf("Error() = %q", pe.Error())
	}
	var rte interface{ RuntimeError() }
	if !errors.As(err, &rte) {
		t.Error("PanicError does not unwrap to the runtime error")
	}
	if st := pe.StackTrace(); !strings.Contains(st, ".panicky") {
		t.Errorf("StackTrace() lacks the panicking function:\n%s", st)
	}
	if pe := (&report.PanicError{Value: "text"}); pe.Unwrap() != nil {
		t.Error("Unwrap() of a non-error panic value != nil")
	}
}
