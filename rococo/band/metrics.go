package band

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// requestBuckets span 0.5ms to 30s: handlers range from an in-memory lookup
// to a slow upstream call.
var requestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// taskBuckets span 10ms to 1h, as cron runs'.
var taskBuckets = []float64{.01, .1, .5, 1, 5, 10, 30, 60, 300, 900, 3600}

// metrics are a runner's collectors, on the host's registry.
type metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	errors       *prometheus.CounterVec
	inFlight     prometheus.Gauge
	restarts     *prometheus.CounterVec
	taskRuns     *prometheus.CounterVec
	taskFailures *prometheus.CounterVec
	taskSkipped  *prometheus.CounterVec
	taskDuration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	fn := []string{"function"}
	return &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "rococo_band_requests_total",
			Help: "Requests answered by each handler, whatever the status.",
		}, fn),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rococo_band_request_duration_seconds",
			Help:    "Time from a handler's request to its answer (a stream: to its end).",
			Buckets: requestBuckets,
		}, fn),
		errors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "rococo_band_request_errors_total",
			Help: "Requests answered with a status of 400 or more, by handler and status (499: the client went away).",
		}, []string{"function", "status"}),
		inFlight: f.NewGauge(prometheus.GaugeOpts{
			Name: "rococo_band_requests_in_flight",
			Help: "Handler requests being served (a handler past its Timeout counts until it returns).",
		}),
		restarts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "rococo_band_worker_restarts_total",
			Help: "Restarts of each worker after an error or a panic.",
		}, []string{"worker"}),
		taskRuns: f.NewCounterVec(prometheus.CounterOpts{
			Name: "rococo_band_scheduled_runs_total",
			Help: "Runs of each scheduled function, failed or not.",
		}, fn),
		taskFailures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "rococo_band_scheduled_failures_total",
			Help: "Runs of each scheduled function that returned an error or panicked.",
		}, fn),
		taskSkipped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "rococo_band_scheduled_skipped_total",
			Help: "Runs of each scheduled function skipped because the previous run was still going.",
		}, fn),
		taskDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rococo_band_scheduled_run_seconds",
			Help:    "Duration of the runs of each scheduled function.",
			Buckets: taskBuckets,
		}, fn),
	}
}

// handlerMetrics are one handler's collectors, looked up once.
type handlerMetrics struct {
	requests prometheus.Counter
	duration prometheus.Observer
	errors   *prometheus.CounterVec // curried with the function
}

func (m *metrics) handler(name string) handlerMetrics {
	return handlerMetrics{
		requests: m.requests.WithLabelValues(name),
		duration: m.duration.WithLabelValues(name),
		errors:   m.errors.MustCurryWith(prometheus.Labels{"function": name}),
	}
}

// done counts one request answered with status after d.
func (h handlerMetrics) done(status int, d time.Duration) {
	h.requests.Inc()
	h.duration.Observe(d.Seconds())
	if status >= 400 {
		h.errors.WithLabelValues(strconv.Itoa(status)).Inc()
	}
}

// taskMetrics counts one scheduled function's runs; it implements
// cron.Metrics.
type taskMetrics struct {
	runs, failures, skipped prometheus.Counter
	duration                prometheus.Observer
}

func (m *metrics) task(name string) taskMetrics {
	return taskMetrics{
		runs:     m.taskRuns.WithLabelValues(name),
		failures: m.taskFailures.WithLabelValues(name),
		skipped:  m.taskSkipped.WithLabelValues(name),
		duration: m.taskDuration.WithLabelValues(name),
	}
}

func (t taskMetrics) CronRun(d time.Duration, err error) {
	t.runs.Inc()
	t.duration.Observe(d.Seconds())
	if err != nil {
		t.failures.Inc()
	}
}

func (t taskMetrics) CronSkipped() { t.skipped.Inc() }
