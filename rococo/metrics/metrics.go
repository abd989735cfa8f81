package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Outcome is how the runtime settled a message attempt. The router counts it
// once the settlement succeeded: a failed Ack, Retry or DeadLetter counts
// as a settle failure instead.
type Outcome int

const (
	// Processed: the processor succeeded and the message was acknowledged.
	Processed Outcome = iota
	// Retried: the attempt failed and the message was sent back for a
	// retry.
	Retried
	// DeadLettered: the message was moved to the dead-letter queue (invalid
	// JSON, a permanent error, or MAX_RETRIES attempts used up).
	DeadLettered
)

// String returns the outcome's name in lower case.
func (o Outcome) String() string {
	switch o {
	case Processed:
		return "processed"
	case Retried:
		return "retried"
	case DeadLettered:
		return "dead_lettered"
	}
	return "unknown"
}

// processingBuckets span 1ms to 60s: message handlers range from an in-memory
// update to a slow HTTP call.
var processingBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// cronBuckets span 10ms to 1h: cron jobs are batch work.
var cronBuckets = []float64{.01, .1, .5, 1, 5, 10, 30, 60, 300, 900, 3600}

// Metrics holds the runtime's collectors. Its methods are safe for concurrent
// use and on a nil receiver.
type Metrics struct {
	processed, failed, retried, deadLettered, released *prometheus.CounterVec
	settleFailures                                     *prometheus.CounterVec
	processing                                         *prometheus.HistogramVec
	cronRuns, cronFailures, cronSkipped                prometheus.Counter
	cronRun                                            prometheus.Histogram
	lastSuccess                                        prometheus.Gauge

	mu     sync.Mutex
	queues map[string]*Queue
}

// New creates the collectors and registers them on reg (nil registers
// nothing, e.g. in tests). It panics when reg already holds collectors of the
// same names, as prometheus.MustRegister does: give each Metrics a registry
// of its own.
func New(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	q := []string{"queue"}
	return &Metrics{
		processed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "rococo_messages_processed_total",
			Help: "Messages processed successfully and acknowledged.",
		}, q),
		failed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "rococo_messages_failed_total",
			Help: "Message attempts that failed (retried or dead-lettered).",
		}, q),
		retried: f.NewCounterVec(prometheus.CounterOpts{
			Name: "rococo_messages_retried_total",
			Help: "Failed messages sent back for a retry with backoff.",
		}, q),
		deadLettered: f.NewCounterVec(prometheus.CounterOpts{
			Name: "rococo_messages_dead_lettered_total",
			Help: "Messages moved to the dead-letter queue.",
		}, q),
		released: f.NewCounterVec(prometheus.CounterOpts{
			Name: "rococo_messages_released_total",
			Help: "Messages handed back unprocessed, without counting an attempt: cancelled at the shutdown deadline, or a retry or dead-letter copy that could not be moved.",
		}, q),
		settleFailures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "rococo_settle_failures_total",
			Help: "Settlements (ack, retry, release, dead-letter) that failed; the broker keeps the message and delivers it again.",
		}, []string{"queue", "op"}),
		processing: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rococo_message_processing_seconds",
			Help:    "Time spent processing one message attempt, whatever its outcome.",
			Buckets: processingBuckets,
		}, q),
		cronRuns: f.NewCounter(prometheus.CounterOpts{
			Name: "rococo_cron_runs_total",
			Help: "Cron runs started and finished, failed or not.",
		}),
		cronFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "rococo_cron_failures_total",
			Help: "Cron runs that returned an error or panicked.",
		}),
		cronSkipped: f.NewCounter(prometheus.CounterOpts{
			Name: "rococo_cron_skipped_total",
			Help: "Cron runs skipped because the previous run was still going.",
		}),
		cronRun: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "rococo_cron_run_seconds",
			Help:    "Duration of cron runs.",
			Buckets: cronBuckets,
		}),
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Name: "rococo_last_success_timestamp_seconds",
			Help: "Unix time of the last message processed or cron run finished successfully.",
		}),
		queues: make(map[string]*Queue),
	}
}

// Queue holds the collectors of one queue, looked up once so that counting a
// message costs no label lookup. A nil *Queue counts nothing.
type Queue struct {
	processed, failed, retried, deadLettered, released prometheus.Counter
	settleFailures                                     *prometheus.CounterVec // curried with the queue
	processing                                         prometheus.Observer
	lastSuccess                                        prometheus.Gauge
}

// Queue returns the collectors of queue. It returns nil on a nil receiver.
func (m *Metrics) Queue(queue string) *Queue {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[queue]
	if q == nil {
		q = &Queue{
			processed:      m.processed.WithLabelValues(queue),
			failed:         m.failed.WithLabelValues(queue),
			retried:        m.retried.WithLabelValues(queue),
			deadLettered:   m.deadLettered.WithLabelValues(queue),
			released:       m.released.WithLabelValues(queue),
			settleFailures: m.settleFailures.MustCurryWith(prometheus.Labels{"queue": queue}),
			processing:     m.processing.WithLabelValues(queue),
			lastSuccess:    m.lastSuccess,
		}
		m.queues[queue] = q
	}
	return q
}

// Message counts one message attempt on queue that took d and ended with
// outcome.
func (m *Metrics) Message(queue string, outcome Outcome, d time.Duration) {
	m.Queue(queue).Message(outcome, d)
}

// Message counts one message attempt that took d and ended with outcome.
func (q *Queue) Message(outcome Outcome, d time.Duration) {
	if q == nil {
		return
	}
	q.processing.Observe(d.Seconds())
	switch outcome {
	case Processed:
		q.processed.Inc()
		q.lastSuccess.SetToCurrentTime()
	case Retried:
		q.failed.Inc()
		q.retried.Inc()
	case DeadLettered:
		q.failed.Inc()
		q.deadLettered.Inc()
	}
}

// Observe records the processing time of an attempt whose settlement is
// not counted as an Outcome (released, or its settlement failed).
func (q *Queue) Observe(d time.Duration) {
	if q == nil {
		return
	}
	q.processing.Observe(d.Seconds())
}

// Released counts a message handed back unprocessed.
func (q *Queue) Released() {
	if q == nil {
		return
	}
	q.released.Inc()
}

// SettleFailed counts a failed settlement; op is ack, retry, release or
// dead-letter.
func (q *Queue) SettleFailed(op string) {
	if q == nil {
		return
	}
	q.settleFailures.WithLabelValues(op).Inc()
}

// CronRun counts one cron run that took d and returned err (a recovered
// panic counts as an error).
func (m *Metrics) CronRun(d time.Duration, err error) {
	if m == nil {
		return
	}
	m.cronRuns.Inc()
	m.cronRun.Observe(d.Seconds())
	if err != nil {
		m.cronFailures.Inc()
		return
	}
	m.lastSuccess.SetToCurrentTime()
}

// CronSkipped counts a run skipped because the previous one was still going.
func (m *Metrics) CronSkipped() {
	if m == nil {
		return
	}
	m.cronSkipped.Inc()
}
