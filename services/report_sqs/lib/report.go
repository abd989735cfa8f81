package lib

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/rococo-go/rococo/common/appconfig"
	"github.com/rococo-go/rococo/common/jsonl"
	"github.com/rococo-go/rococo/rococo"
)

// maxRows bounds the rows of one request.
const maxRows = 100_000

// Request is the message body the service consumes, as a Python rococo
// service would send it with send_message:
//
//	{"report_id": "r-1", "title": "Daily sales", "rows": [{"label": "eu", "value": 12.5}]}
type Request struct {
	ReportID string `json:"report_id"`
	Title    string `json:"title"`
	Rows     []Row  `json:"rows"`
}

// Row is one labelled value of a report.
type Row struct {
	Label string  `json:"label"`
	Value float64 `json:"value"`
}

// Validate reports what makes r impossible to summarise. Retrying cannot
// fix such a request, so the error is permanent (dead-lettered at once).
func (r Request) Validate() error {
	switch {
	case strings.TrimSpace(r.ReportID) == "":
		return rococo.Permanent(errors.New("report request without report_id"))
	case len(r.Rows) == 0:
		return rococo.Permanent(fmt.Errorf("report %q has no rows", r.ReportID))
	case len(r.Rows) > maxRows:
		return rococo.Permanent(fmt.Errorf("report %q has %d rows, at most %d allowed", r.ReportID, len(r.Rows), maxRows))
	}
	for i, row := range r.Rows {
		// Python's NaN, Infinity and -Infinity are accepted in a body and
		// decode as floats (rococo/json.go), but a summary of them cannot
		// be encoded as JSON.
		if math.IsNaN(row.Value) || math.IsInf(row.Value, 0) {
			return rococo.Permanent(fmt.Errorf("report %q: row %d (label %q) has value %v, want a finite number", r.ReportID, i, row.Label, row.Value))
		}
	}
	return nil
}

// checkFinite reports a summary that JSON cannot carry: its sum (hence its
// mean) overflowed float64, as two values of 1e308 do. Retrying cannot
// change that, so the error is permanent.
func (s Summary) checkFinite() error {
	if math.IsInf(s.Sum, 0) || math.IsNaN(s.Sum) || math.IsInf(s.Mean, 0) || math.IsNaN(s.Mean) {
		return rococo.Permanent(fmt.Errorf("report %q: the sum of its %d values overflows a float64 (%v), which JSON cannot carry", s.ReportID, s.Count, s.Sum))
	}
	return nil
}

// Summary is the result of one report.
type Summary struct {
	ReportID string  `json:"report_id"`
	Title    string  `json:"title,omitempty"`
	Count    int     `json:"count"`
	Sum      float64 `json:"sum"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	Mean     float64 `json:"mean"`
	// Top is the label of the largest value (the first one on a tie).
	Top string `json:"top"`
	// Attempt is the delivery attempt that produced the summary; a value
	// above 1 shows the request was retried or redelivered.
	Attempt int `json:"attempt"`
}

// Summarize computes the summary of a valid request.
func Summarize(r Request) Summary {
	s := Summary{ReportID: r.ReportID, Title: r.Title, Count: len(r.Rows), Min: math.Inf(1), Max: math.Inf(-1)}
	for _, row := range r.Rows {
		s.Sum += row.Value
		s.Min = min(s.Min, row.Value)
		if row.Value > s.Max {
			s.Max, s.Top = row.Value, row.Label
		}
	}
	s.Mean = s.Sum / float64(s.Count)
	return s
}

// Sink receives summaries. Deliver must be safe for concurrent use and
// should be idempotent per ReportID: at-least-once delivery may hand it the
// same report twice.
type Sink interface {
	Deliver(ctx context.Context, s Summary) error
}

// FileSink appends one JSON line per summary to a file (common/jsonl:
// concurrent lines never interleave).
type FileSink struct{ f *jsonl.File }

// OpenFileSink opens (creating it when missing) the file at path for
// appending.
func OpenFileSink(path string) (*FileSink, error) {
	f, err := jsonl.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open report output: %w", err)
	}
	return &FileSink{f: f}, nil
}

// Deliver appends s as one JSON line.
func (o *FileSink) Deliver(_ context.Context, s Summary) error {
	if err := o.f.Append(s); err != nil {
		return fmt.Errorf("write report %q: %w", s.ReportID, err)
	}
	return nil
}

// Close closes the file.
func (o *FileSink) Close() error { return o.f.Close() }

// QueueSink publishes each summary as a JSON message to a queue, for the
// service (Go or Python) that asked for the report.
type QueueSink struct {
	Publisher rococo.Publisher
	Queue     string
}

// Deliver publishes s to the queue.
func (q QueueSink) Deliver(ctx context.Context, s Summary) error {
	body, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode report %q: %w", s.ReportID, err)
	}
	if err := q.Publisher.Publish(ctx, q.Queue, &rococo.Message{Body: body}); err != nil {
		return fmt.Errorf("publish report %q: %w", s.ReportID, err)
	}
	return nil
}

// LogSink logs each summary.
type LogSink struct{ Logger *slog.Logger }

// Deliver logs s.
func (l LogSink) Deliver(_ context.Context, s Summary) error {
	l.Logger.Info("report", slog.String("report_id", s.ReportID), slog.Int("count", s.Count),
		slog.Float64("sum", s.Sum), slog.Float64("mean", s.Mean), slog.String("top", s.Top))
	return nil
}

// ErrDataSource is the error of a simulated failing data source (see
// Reporter.FailPrefix); the runtime retries it with backoff, then
// dead-letters the request.
var ErrDataSource = errors.New("data source unavailable")

// Reporter turns requests into summaries and hands them to its sinks.
type Reporter struct {
	// Sinks receive every summary, in order; the first error fails the
	// message (it is retried, and may reach a sink twice).
	Sinks []Sink
	// Delay is how long rendering one report takes (simulated work).
	Delay time.Duration
	// MaxDelay, when above Delay, makes each rendering take a random time
	// between Delay and MaxDelay instead.
	MaxDelay time.Duration
	// FailPrefix, when set, makes every report whose id starts with it fail
	// with ErrDataSource: a stand-in for a data source that stays down.
	FailPrefix string
}

// Handle decodes, validates and summarises one message, then delivers the
// summary. Undecodable or invalid requests (including values that are not
// finite, and sums that overflow) are permanent errors; ctx ending
// during the simulated work returns ctx's error.
func (r *Reporter) Handle(ctx context.Context, msg *rococo.Message) error {
	var req Request
	if err := msg.Decode(&req); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	if r.FailPrefix != "" && strings.HasPrefix(req.ReportID, r.FailPrefix) {
		return fmt.Errorf("report %q: %w", req.ReportID, ErrDataSource)
	}
	if d := r.renderTime(); d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("report %q: %w", req.ReportID, ctx.Err())
		case <-timer.C:
		}
	}
	s := Summarize(req)
	if err := s.checkFinite(); err != nil {
		return err
	}
	s.Attempt = msg.Attempt
	for _, sink := range r.Sinks {
		if err := sink.Deliver(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// renderTime returns how long one rendering takes: Delay, or a random time
// up to MaxDelay.
func (r *Reporter) renderTime() time.Duration {
	if r.MaxDelay <= r.Delay {
		return r.Delay
	}
	return r.Delay + rand.N(r.MaxDelay-r.Delay+1)
}

// Env names the service reads (besides the runtime's own).
const (
	EnvOutputFile   = "REPORT_OUTPUT_FILE"
	EnvResultsQueue = "REPORT_RESULTS_QUEUE"
	EnvRenderDelay  = "REPORT_RENDER_DELAY"
	EnvRenderMax    = "REPORT_RENDER_DELAY_MAX"
	EnvFailPrefix   = "REPORT_FAIL_PREFIX"
)

// NewReporterFromEnv builds a Reporter from env: REPORT_OUTPUT_FILE (append
// summaries to this file as JSON lines), REPORT_RESULTS_QUEUE (publish them
// to this queue with pub), both optional (with neither, summaries are
// logged); REPORT_RENDER_DELAY (a Go duration, default 0),
// REPORT_RENDER_DELAY_MAX (a random render time between the two, default
// none) and REPORT_FAIL_PREFIX. The returned close function releases the file.
func NewReporterFromEnv(env appconfig.Env, pub rococo.Publisher, log *slog.Logger) (*Reporter, func() error, error) {
	r := &Reporter{FailPrefix: env.String(EnvFailPrefix, "")}
	var err error
	if r.Delay, err = env.Duration(EnvRenderDelay, 0); err != nil {
		return nil, nil, err
	}
	if r.MaxDelay, err = env.Duration(EnvRenderMax, 0); err != nil {
		return nil, nil, err
	}
	closeFn := func() error { return nil }
	if path := env.String(EnvOutputFile, ""); path != "" {
		f, err := OpenFileSink(path)
		if err != nil {
			return nil, nil, err
		}
		r.Sinks = append(r.Sinks, f)
		closeFn = f.Close
	}
	if q := env.String(EnvResultsQueue, ""); q != "" {
		if pub == nil {
			closeFn()
			return nil, nil, fmt.Errorf("%s=%q needs a broker (MESSAGING_TYPE)", EnvResultsQueue, q)
		}
		r.Sinks = append(r.Sinks, QueueSink{Publisher: pub, Queue: q})
	}
	if len(r.Sinks) == 0 {
		r.Sinks = []Sink{LogSink{Logger: log}}
	}
	return r, closeFn, nil
}
