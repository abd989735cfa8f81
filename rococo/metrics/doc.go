// Package metrics provides the runtime's Prometheus metrics: messages
// processed, failed, retried and dead-lettered per queue, message processing
// time, cron runs, failures and skips, and the time of the last success.
//
// Metrics are registered on the prometheus.Registerer passed to New, never
// on Prometheus' default registry, and every method is safe on a nil
// *Metrics, which counts nothing.
package metrics
