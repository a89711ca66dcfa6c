package cacher

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/watchcached/watchcached/watchcache"
)

// Metrics are the cache's Prometheus metrics, shared by every Cacher of a
// process and labelled by resource. Names follow kube-apiserver's where it
// has one. Safe for concurrent use.
type Metrics struct {
	eventsApplied    *prometheus.CounterVec
	cacheRV          *prometheus.GaugeVec
	ringLen, ringCap *prometheus.GaugeVec
	objects          *prometheus.GaugeVec
	watchers         *prometheus.GaugeVec
	watchersExpired  *prometheus.CounterVec
	freshWait        *prometheus.HistogramVec
	delegated        *prometheus.CounterVec
	revisionRequests *prometheus.CounterVec
	relists          *prometheus.CounterVec
	inconsistencies  *prometheus.CounterVec
	missingPrev      *prometheus.CounterVec
	compacted        *prometheus.GaugeVec
	panics           *prometheus.CounterVec
	starts           *prometheus.CounterVec // resource, start
	snapshotWrites   *prometheus.CounterVec // resource, result
	// kube-apiserver's families of the same quantities, with its names
	// and labels, so its dashboards work (kube_metrics.go).
	kubeEventsVec  *prometheus.CounterVec // group, resource
	kubeRVVec      *prometheus.GaugeVec   // group, resource
	kubeObjectsVec *prometheus.GaugeVec   // resource (group-qualified)
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	res := []string{"resource"}
	m := &Metrics{
		eventsApplied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_cache_events_applied_total", Help: "etcd events applied to the watch cache.",
		}, res),
		cacheRV: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "watchcached_cache_resource_version", Help: "Highest etcd revision the cache has applied.",
		}, res),
		ringLen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "watchcached_watch_cache_length", Help: "Events held in the ring.",
		}, res),
		ringCap: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "watchcached_watch_cache_capacity", Help: "Capacity of the event ring.",
		}, res),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "watchcached_cache_objects", Help: "Objects in the cache's store.",
		}, res),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "watchcached_cache_watchers", Help: "Open watchers served from the cache.",
		}, res),
		watchersExpired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_cache_watchers_expired_total", Help: "Watchers ended with 410 Expired because the ring overtook them.",
		}, res),
		freshWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "watchcached_consistent_read_wait_seconds",
			Help:    "Time consistent reads waited for the cache to reach etcd's revision.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 3},
		}, res),
		delegated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_cache_delegated_total", Help: "Reads answered by etcd instead of the cache, by reason.",
		}, []string{"resource", "verb", "reason"}),
		revisionRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_consistent_read_revision_requests_total", Help: "Linearizable revision requests sent for consistent reads.",
		}, res),
		relists: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_cache_relists_total", Help: "Relists after the etcd watch was compacted or inconsistent.",
		}, res),
		inconsistencies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_cache_consistency_check_failures_total", Help: "Consistency checks that found the cache differing from etcd.",
		}, res),
		missingPrev: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_cache_watch_missing_prev_total",
			Help: "etcd watch events that came without their previous value (each one makes the cache relist).",
		}, res),
		compacted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "watchcached_cache_etcd_compacted_revision", Help: "etcd's compacted revision as the cache last learned it.",
		}, res),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_cache_reflector_panics_total",
			Help: "Panics recovered in the cache's reflector (each one makes the cache relist after a back-off).",
		}, res),
		starts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_cache_starts_total",
			Help: "Caches filled at start, by how: warm (from a snapshot) or cold (by a list).",
		}, []string{"resource", "start"}),
		snapshotWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_cache_snapshot_writes_total",
			Help: "Warm-restart snapshots written, by result (ok or error).",
		}, []string{"resource", "result"}),
	}
	m.addKube()
	if reg != nil {
		for _, c := range []prometheus.Collector{m.kubeEventsVec, m.kubeRVVec, m.kubeObjectsVec, m.eventsApplied, m.cacheRV, m.ringLen, m.ringCap, m.objects,
			m.watchers, m.watchersExpired, m.freshWait, m.delegated, m.revisionRequests, m.relists, m.inconsistencies,
			m.missingPrev, m.compacted, m.panics, m.starts, m.snapshotWrites} {
			reg.MustRegister(c)
		}
	}
	return m
}

// resourceMetrics are one resource's children of Metrics.
type resourceMetrics struct {
	eventsApplied, watchersExpired, revisionRequests, relists prometheus.Counter
	inconsistencies, missingPrev, panics                      prometheus.Counter
	cacheRV, ringLen, ringCap, objects, watchers, compacted   prometheus.Gauge
	freshWait                                                 prometheus.Observer
	delegated                                                 *prometheus.CounterVec // labels verb, reason
	starts, snapshotWrites                                    *prometheus.CounterVec // label start; label result
	kubeEvents                                                prometheus.Counter
	kubeRV, kubeObjects                                       prometheus.Gauge
}

// forResource binds the metrics to one resource; a nil Metrics gives
// unregistered ones, so callers never check.
func (m *Metrics) forResource(group, resourceName string) *resourceMetrics {
	if m == nil {
		m = NewMetrics(nil)
	}
	resource := resourceName
	if group != "" {
		resource += "." + group
	}
	return &resourceMetrics{
		kubeEvents:       m.kubeEventsVec.WithLabelValues(group, resourceName),
		kubeRV:           m.kubeRVVec.WithLabelValues(group, resourceName),
		kubeObjects:      m.kubeObjectsVec.WithLabelValues(resource),
		eventsApplied:    m.eventsApplied.WithLabelValues(resource),
		watchersExpired:  m.watchersExpired.WithLabelValues(resource),
		revisionRequests: m.revisionRequests.WithLabelValues(resource),
		relists:          m.relists.WithLabelValues(resource),
		inconsistencies:  m.inconsistencies.WithLabelValues(resource),
		missingPrev:      m.missingPrev.WithLabelValues(resource),
		panics:           m.panics.WithLabelValues(resource),
		compacted:        m.compacted.WithLabelValues(resource),
		cacheRV:          m.cacheRV.WithLabelValues(resource),
		ringLen:          m.ringLen.WithLabelValues(resource),
		ringCap:          m.ringCap.WithLabelValues(resource),
		objects:          m.objects.WithLabelValues(resource),
		watchers:         m.watchers.WithLabelValues(resource),
		freshWait:        m.freshWait.WithLabelValues(resource),
		delegated:        m.delegated.MustCurryWith(prometheus.Labels{"resource": resource}),
		starts:           m.starts.MustCurryWith(prometheus.Labels{"resource": resource}),
		snapshotWrites:   m.snapshotWrites.MustCurryWith(prometheus.Labels{"resource": resource}),
	}
}

func (m *resourceMetrics) observeStats(s watchcache.Stats) {
	m.ringLen.Set(float64(s.RingLen))
	m.ringCap.Set(float64(s.RingCap))
	m.objects.Set(float64(s.Objects))
	m.kubeObjects.Set(float64(s.Objects))
}

// setRV records the cache RV; kube-apiserver's gauge keeps its 15 least
// significant digits, as there (a float64 holds them exactly).
func (m *resourceMetrics) setRV(rv uint64) {
	m.cacheRV.Set(float64(rv))
	m.kubeRV.Set(float64(rv % 1_000_000_000_000_000))
}

// addEvents counts n events received from etcd and applied.
func (m *resourceMetrics) addEvents(n int) {
	m.eventsApplied.Add(float64(n))
	m.kubeEvents.Add(float64(n))
}
