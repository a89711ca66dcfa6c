package cacher

import "github.com/prometheus/client_golang/prometheus"

// addKube creates kube-apiserver's families of the cache's quantities:
// apiserver_watch_cache_events_received_total and
// apiserver_watch_cache_resource_version by group and resource, and
// apiserver_storage_objects by group-qualified resource ("pods",
// "deployments.apps"), as kube-apiserver labels them. kube-apiserver
// counts objects by asking etcd every minute; here the count is the
// cache's store, as current as the cache.
func (m *Metrics) addKube() {
	gr := []string{"group", "resource"}
	m.kubeEventsVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apiserver_watch_cache_events_received_total",
		Help: "Events received from etcd by the watch cache, by group and resource (kube-apiserver's family).",
	}, gr)
	m.kubeRVVec = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "apiserver_watch_cache_resource_version",
		Help: "Current resource version of the watch cache by group and resource, its 15 least significant digits (kube-apiserver's family).",
	}, gr)
	m.kubeObjectsVec = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "apiserver_storage_objects",
		Help: "Objects stored, as the watch cache holds them, by resource (kube-apiserver's family).",
	}, []string{"resource"})
}
