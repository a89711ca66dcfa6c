package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's request metrics, modelled on kube-apiserver's
// apiserver_request_total and apiserver_request_duration_seconds. Safe for
// concurrent use (Prometheus collectors are).
type metrics struct {
	requests *prometheus.CounterVec   // verb, resource, code, cache
	duration *prometheus.HistogramVec // verb, resource; WATCH excluded
	watchers *prometheus.GaugeVec     // resource
	panics   *prometheus.CounterVec   // frontend: http, grpc
	slow     *prometheus.CounterVec   // frontend: http, grpc; reason: slowReason*
	// slowCurried is slow curried by frontend, made once: currying per
	// watch would allocate for as long as the watch lasts.
	slowCurried map[string]*prometheus.CounterVec
	// kube are kube-apiserver's families of the same requests.
	kube *kubeMetrics
}

// The reasons of watchcached_watches_closed_slow_total.
const (
	// slowReasonTimeout: a write blocked for the slow-client timeout.
	slowReasonTimeout = "slow-client-timeout"
	// slowReasonBuffer: the storage's buffer of events for the watcher
	// filled up (an etcd-direct watch, B204); the client got a 410.
	slowReasonBuffer = "buffer-full"
)

// slowBy is the frontend's part of the slow counter, by reason.
func (m *metrics) slowBy(frontend string) *prometheus.CounterVec {
	if c, ok := m.slowCurried[frontend]; ok {
		return c
	}
	return m.slow.MustCurryWith(prometheus.Labels{"frontend": frontend})
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_http_requests_total",
			Help: "HTTP requests to resources by verb, resource, response code and cache (\"true\": served from the watch cache, \"false\": from the source, because of ?cache=false, a resource without a cache, or a write).",
		}, []string{"verb", "resource", "code", "cache"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "watchcached_http_request_duration_seconds",
			Help:    "Latency of HTTP requests to resources by verb and resource (watches excluded).",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"verb", "resource"}),
		watchers: watchersGauge("http", "HTTP"),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_panics_total",
			Help: "Panics recovered while serving a request or a watch stream, by frontend (http, grpc).",
		}, []string{"frontend"}),
		slow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watchcached_watches_closed_slow_total",
			Help: "Watch streams closed because the client was too slow, by frontend (http, grpc) and reason (" +
				slowReasonTimeout + ": it accepted no data for --watch-slow-client-timeout; " + slowReasonBuffer +
				": an etcd-direct watch's buffer filled up).",
		}, []string{"frontend", "reason"}),
		kube: newKubeMetrics(),
	}
	m.slowCurried = map[string]*prometheus.CounterVec{}
	for _, frontend := range []string{"http", "grpc"} {
		m.slowCurried[frontend] = m.slow.MustCurryWith(prometheus.Labels{"frontend": frontend})
	}
	return m, registerAll(reg, append([]prometheus.Collector{m.requests, m.duration, m.watchers, m.panics, m.slow},
		m.kube.collectors()...)...)
}

// measure is one request being measured: start begins it, done records
// it. Used by the request's goroutine only.
type measure struct {
	m     *metrics
	r     *http.Request
	req   *request
	begin time.Time
	// dropped is set when admission refused the request (429): for
	// kube-apiserver's families it is then only counted, as a drop.
	dropped bool
}

// start begins measuring a request.
func (m *metrics) start(r *http.Request, req *request) *measure {
	return &measure{m: m, r: r, req: req, begin: time.Now()}
}

// done records the request with its response code.
func (x *measure) done(code int) { x.m.record(x.labels(code), time.Since(x.begin)) }

// doneLater takes the labels of the request answered with code now and
// returns the func that records it, measuring the duration when it is
// called: at the end of a detached watch's stream (request_end.go), which
// must not keep the *http.Request.
func (x *measure) doneLater(code int) func() {
	m, l, begin := x.m, x.labels(code), x.begin
	return func() { m.record(l, time.Since(begin)) }
}

// requestLabels are the label values of one answered request.
type requestLabels struct {
	verb, resource, code, cache string
	kube                        kubeLabels
	dropped                     bool // refused by admission: kube counts a drop
}

// labels are the labels of the request answered with code.
func (x *measure) labels(code int) requestLabels {
	l := requestLabels{verb: x.req.verb, resource: x.req.entry.res.GroupResource(), code: strconv.Itoa(code),
		cache: strconv.FormatBool(x.req.cached()), dropped: x.dropped}
	if x.dropped {
		l.kube = droppedLabels(x.r, x.req)
	} else {
		l.kube = routeLabels(x.r, x.req, code)
	}
	return l
}

// record records one request of labels l that took elapsed.
func (m *metrics) record(l requestLabels, elapsed time.Duration) {
	m.requests.WithLabelValues(l.verb, l.resource, l.code, l.cache).Inc()
	if l.verb != verbWatch {
		m.duration.WithLabelValues(l.verb, l.resource).Observe(elapsed.Seconds())
	}
	if l.dropped {
		m.kube.dropped(l.kube)
		return
	}
	m.kube.observe(l.kube, elapsed)
}
