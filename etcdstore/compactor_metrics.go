package etcdstore

import "github.com/prometheus/client_golang/prometheus"

// compactorMetrics are a Compactor's Prometheus metrics. Safe for
// concurrent use.
type compactorMetrics struct {
	compactions prometheus.Counter
	failures    prometheus.Counter
	revision    prometheus.Gauge
}

// newCompactorMetrics creates the metrics and registers them with reg
// (nil: not registered).
func newCompactorMetrics(reg prometheus.Registerer) *compactorMetrics {
	m := &compactorMetrics{
		compactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "watchcached_etcd_compactions_total", Help: "Compactions of etcd's history this process performed.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "watchcached_etcd_compaction_failures_total", Help: "Compaction rounds that failed (etcd unreachable, refused).",
		}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "watchcached_etcd_compacted_revision", Help: "Revision of the last compaction this process performed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.compactions, m.failures, m.revision)
	}
	return m
}
