package metrics

import "github.com/prometheus/client_golang/prometheus"

// BlockReporter is a transport that can tell whether its broker blocks it
// from publishing (RabbitMQ's connection.blocked during a memory or disk
// alarm).
type BlockReporter interface {
	Blocked() bool
}

// RegisterBrokerBlocked registers on reg the gauge rococo_broker_blocked:
// 1 while b's broker blocks publishing, else 0. It is read at every scrape.
func RegisterBrokerBlocked(reg prometheus.Registerer, b BlockReporter) error {
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rococo_broker_blocked",
		Help: "1 while the broker blocks the service's publishing connection (a memory or disk alarm): retry and dead-letter copies wait, consuming and acking go on.",
	}, func() float64 {
		if b.Blocked() {
			return 1
		}
		return 0
	}))
}
