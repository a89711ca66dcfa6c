package cacher

import "github.com/prometheus/client_golang/prometheus"

// healthMetrics are Health's gauges, set by its Run goroutine. Like
// kube-apiserver's kubernetes_healthcheck, watchcached_healthcheck is 1
// while a check passes and 0 while it fails.
type healthMetrics struct {
	up      *prometheus.GaugeVec // labels name, type
	lag     *prometheus.GaugeVec // label resource
	etcdRev prometheus.Gauge
}

func newHealthMetrics(reg prometheus.Registerer) *healthMetrics {
	m := &healthMetrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "watchcached_healthcheck", Help: "1 while a health check passes, 0 while it fails.",
		}, []string{"name", "type"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "watchcached_cache_lag_seconds",
			Help: "Time since the cache last held etcd's current revision as the health probe saw it; 0 when caught up.",
		}, []string{"resource"}),
		etcdRev: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "watchcached_etcd_current_revision", Help: "etcd's current revision at the last successful health probe.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.up, m.lag, m.etcdRev)
	}
	return m
}

func (m *healthMetrics) setUp(g prometheus.Gauge, ok bool) {
	if ok {
		g.Set(1)
	} else {
		g.Set(0)
	}
}
