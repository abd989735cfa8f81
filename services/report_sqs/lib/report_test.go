package lib

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rococo-go/rococo/common/appconfig"
	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/rococotest"
)

func TestValidate(t *testing.T) {
	rows := []Row{{"a", 1}}
	tests := []struct {
		name string
		req  Request
		want string // "" = valid
	}{
		{"valid", Request{ReportID: "r1", Rows: rows}, ""},
		{"no id", Request{Rows: rows}, "without report_id"},
		{"blank id", Request{ReportID: "  ", Rows: rows}, "without report_id"},
		{"no rows", Request{ReportID: "r1"}, "has no rows"},
		{"too many rows", Request{ReportID: "r1", Rows: make([]Row, maxRows+1)}, "at most"},
		{"NaN", Request{ReportID: "r1", Rows: []Row{{"a", 1}, {"b", math.NaN()}}}, `row 1 (label "b") has value NaN, want a finite number`},
		{"Infinity", Request{ReportID: "r1", Rows: []Row{{"a", math.Inf(1)}}}, `has value +Inf, want a finite number`},
		{"-Infinity", Request{ReportID: "r1", Rows: []Row{{"a", math.Inf(-1)}}}, `has value -Inf, want a finite number`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !rococo.IsPermanent(err) {
				t.Errorf("Validate() = %v, want a permanent error containing %q", err, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		rows []Row
		want Summary
	}{
		{"one", []Row{{"eu", 2}}, Summary{Count: 1, Sum: 2, Min: 2, Max: 2, Mean: 2, Top: "eu"}},
		{"several", []Row{{"eu", 1}, {"us", 5}, {"apac", -3}}, Summary{Count: 3, Sum: 3, Min: -3, Max: 5, Mean: 1, Top: "us"}},
		{"tie keeps first", []Row{{"a", 4}, {"b", 4}}, Summary{Count: 2, Sum: 8, Min: 4, Max: 4, Mean: 4, Top: "a"}},
		{"all negative", []Row{{"x", -1}, {"y", -2}}, Summary{Count: 2, Sum: -3, Min: -2, Max: -1, Mean: -1.5, Top: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Summarize(Request{ReportID: "r", Title: "T", Rows: tc.rows})
			tc.want.ReportID, tc.want.Title = "r", "T"
			if got != tc.want {
				t.Errorf("Summarize = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// recordingSink records summaries, or fails with err.
type recordingSink struct {
	mu  sync.Mutex
	got []Summary
	err error
}

func (r *recordingSink) Deliver(_ context.Context, s Summary) error {
	if r.err != nil {
		return r.err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, s)
	return nil
}

func TestHandle(t *testing.T) {
	sinkErr := errors.New("disk full")
	tests := []struct {
		name          string
		body          string
		reporter      Reporter
		sinkErr       error
		wantErr       error // errors.Is target, nil = success
		wantPermanent bool
	}{
		{"summarised", `{"report_id":"r1","rows":[{"label":"a","value":1}]}`, Reporter{}, nil, nil, false},
		{"python json.dumps spacing", `{"report_id": "r2", "title": "Zo\u00eb", "rows": [{"label": "a", "value": 2.5}]}`, Reporter{}, nil, nil, false},
		{"not json", `{"report_id":`, Reporter{}, nil, nil, true},
		{"invalid", `{"report_id":"r3","rows":[]}`, Reporter{}, nil, nil, true},
		{"failing data source", `{"report_id":"bad-1","rows":[{"label":"a","value":1}]}`, Reporter{FailPrefix: "bad-"}, nil, ErrDataSource, false},
		{"other ids unaffected", `{"report_id":"ok-1","rows":[{"label":"a","value":1}]}`, Reporter{FailPrefix: "bad-"}, nil, nil, false},
		// Python's json.dumps writes NaN and Infinity; the runtime accepts
		// them (rococo/json.go) and they decode as floats: no summary can be
		// encoded, so it is dead-lettered at once, not retried.
		{"python NaN", `{"report_id": "r5", "rows": [{"label": "a", "value": NaN}]}`, Reporter{}, nil, nil, true},
		{"python Infinity", `{"report_id": "r6", "rows": [{"label": "a", "value": Infinity}, {"label": "b", "value": -Infinity}]}`, Reporter{}, nil, nil, true},
		{"sum overflows", `{"report_id":"r7","rows":[{"label":"a","value":1e308},{"label":"b","value":1e308}]}`, Reporter{}, nil, nil, true},
		{"large but finite", `{"report_id":"r8","rows":[{"label":"a","value":1e308},{"label":"b","value":-1e308}]}`, Reporter{}, nil, nil, false},
		{"sink error retried", `{"report_id":"r4","rows":[{"label":"a","value":1}]}`, Reporter{}, sinkErr, sinkErr, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &recordingSink{err: tc.sinkErr}
			r := tc.reporter
			r.Sinks = []Sink{sink}
			err := r.Handle(context.Background(), &rococo.Message{ID: "m", Body: []byte(tc.body), Attempt: 2, Queue: "reports"})
			switch {
			case tc.wantPermanent:
				if !rococo.IsPermanent(err) {
					t.Errorf("Handle = %v, want a permanent error", err)
				}
				if len(sink.got) != 0 {
					t.Errorf("sink got %+v, want nothing", sink.got)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) || rococo.IsPermanent(err) {
					t.Errorf("Handle = %v, want a retryable %v", err, tc.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("Handle = %v", err)
				}
				if len(sink.got) != 1 || sink.got[0].Attempt != 2 {
					t.Errorf("sink got %+v, want one summary at attempt 2", sink.got)
				}
			}
		})
	}
}

func TestHandleDelayHonoursContext(t *testing.T) {
	r := Reporter{Delay: time.Minute, Sinks: []Sink{&recordingSink{}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := r.Handle(ctx, &rococo.Message{Body: []byte(`{"report_id":"r","rows":[{"value":1}]}`)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Handle = %v, want the ctx deadline", err)
	}
}

func TestFileSinkConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	f, err := OpenFileSink(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := f.Deliver(context.Background(), Summary{ReportID: fmt.Sprint(i), Title: strings.Repeat("x", 500)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var s Summary
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		seen[s.ReportID] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct lines, want %d", len(seen), n)
	}
}

// TestQueueSink publishes summaries through a transport's Publisher.
func TestQueueSink(t *testing.T) {
	tr := rococotest.NewTransport()
	defer tr.Close()
	if err := (QueueSink{Publisher: tr, Queue: "results"}).Deliver(context.Background(), Summary{ReportID: "r9", Count: 2}); err != nil {
		t.Fatal(err)
	}
	msgs := tr.Messages("results")
	if len(msgs) != 1 {
		t.Fatalf("%d messages in results, want 1", len(msgs))
	}
	var s Summary
	if err := json.Unmarshal(msgs[0].Body, &s); err != nil || s.ReportID != "r9" || s.Count != 2 {
		t.Errorf("published %s (%v)", msgs[0].Body, err)
	}
}

func TestNewReporterFromEnv(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	pub := rococotest.NewTransport()
	defer pub.Close()
	tests := []struct {
		name      string
		env       map[string]string
		pub       rococo.Publisher
		wantErr   string
		wantSinks []string
		wantDelay time.Duration
	}{
		{"defaults log", nil, pub, "", []string{"lib.LogSink"}, 0},
		{"file and queue", map[string]string{EnvOutputFile: filepath.Join(dir, "o.jsonl"), EnvResultsQueue: "results", EnvRenderDelay: "250ms"}, pub, "", []string{"*lib.FileSink", "lib.QueueSink"}, 250 * time.Millisecond},
		{"seconds delay", map[string]string{EnvRenderDelay: "2"}, pub, "", []string{"lib.LogSink"}, 2 * time.Second},
		{"bad delay", map[string]string{EnvRenderDelay: "soon"}, pub, "REPORT_RENDER_DELAY", nil, 0},
		{"negative delay", map[string]string{EnvRenderDelay: "-1s"}, pub, "REPORT_RENDER_DELAY", nil, 0},
		{"queue without broker", map[string]string{EnvResultsQueue: "results"}, nil, "needs a broker", nil, 0},
		{"unwritable file", map[string]string{EnvOutputFile: filepath.Join(dir, "missing", "o.jsonl")}, pub, "open report output", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, closeFn, err := NewReporterFromEnv(appconfig.FromMap(tc.env), tc.pub, log)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("NewReporterFromEnv = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			var kinds []string
			for _, s := range r.Sinks {
				kinds = append(kinds, fmt.Sprintf("%T", s))
			}
			if fmt.Sprint(kinds) != fmt.Sprint(tc.wantSinks) {
				t.Errorf("sinks %v, want %v", kinds, tc.wantSinks)
			}
			if r.Delay != tc.wantDelay {
				t.Errorf("Delay = %v, want %v", r.Delay, tc.wantDelay)
			}
		})
	}
}

func TestRenderTime(t *testing.T) {
	tests := []struct {
		name            string
		delay, maxDelay time.Duration
	}{
		{"fixed", 5 * time.Millisecond, 0},
		{"max below delay is ignored", 5 * time.Millisecond, time.Millisecond},
		{"random between", time.Millisecond, 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Reporter{Delay: tt.delay, MaxDelay: tt.maxDelay}
			hi := max(tt.delay, tt.maxDelay)
			for range 200 {
				if d := r.renderTime(); d < tt.delay || d > hi {
					t.Fatalf("renderTime() = %v, want within [%v, %v]", d, tt.delay, hi)
				}
			}
		})
	}
}
