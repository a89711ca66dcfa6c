package server

import "github.com/prometheus/client_golang/prometheus"

// grpcMetrics are the gRPC frontend's watch metrics. Safe for concurrent
// use (Prometheus collectors are).
type grpcMetrics struct {
	watchers *prometheus.GaugeVec   // resource
	sent     *prometheus.CounterVec // resource
}

func newGRPCMetrics(reg prometheus.Registerer) (*grpcMetrics, error) {
	m := &grpcMetrics{
		watchers: watchersGauge("grpc", "gRPC"),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_grpc_watch_events_sent_total",
			Help: "Watch events handed to gRPC streams (Send returned) by resource; bookmarks included.",
		}, []string{"resource"}),
	}
	return m, registerAll(reg, m.watchers, m.sent)
}
