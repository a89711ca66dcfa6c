package etcdstore

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RequestMetrics is kube-apiserver's etcd_request_duration_seconds: the
// latency of the stores' etcd requests by operation (get, list, create,
// update, delete, getCurrentResourceVersion: kube-apiserver's names),
// group and resource, with its buckets. One is shared by every store of a
// process (Config.RequestMetrics); safe for concurrent use.
type RequestMetrics struct {
	latency *prometheus.HistogramVec
}

// NewRequestMetrics creates the family and registers it with reg.
func NewRequestMetrics(reg prometheus.Registerer, buckets []float64) (*RequestMetrics, error) {
	m := &RequestMetrics{latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "etcd_request_duration_seconds",
		Help:    "Latency of etcd requests by operation, group and resource (kube-apiserver's family).",
		Buckets: buckets,
	}, []string{"operation", "group", "resource"})}
	return m, reg.Register(m.latency)
}

// requestObserver is one store's view of RequestMetrics; nil observes
// nothing.
type requestObserver struct{ vec prometheus.ObserverVec }

func (m *RequestMetrics) forStore(group, resource string) *requestObserver {
	if m == nil {
		return nil
	}
	return &requestObserver{vec: m.latency.MustCurryWith(prometheus.Labels{"group": group, "resource": resource})}
}

// observe records a request of operation op that began at begin.
func (o *requestObserver) observe(op string, begin time.Time) {
	if o != nil {
		o.vec.WithLabelValues(op).Observe(time.Since(begin).Seconds())
	}
}
