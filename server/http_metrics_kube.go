package server

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/watchcached/watchcached/api"
)

// kubeComponent is the component label of kube-apiserver's request
// metrics, kept so dashboards that select it work unchanged.
const kubeComponent = "apiserver"

// kubeLatencyBuckets are kube-apiserver's buckets of
// apiserver_request_duration_seconds (and of etcd_request_duration_seconds).
var kubeLatencyBuckets = []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3,
	4, 5, 6, 8, 10, 15, 20, 30, 45, 60}

// KubeLatencyBuckets are kube-apiserver's latency buckets, for the other
// packages' families of its names (a copy).
func KubeLatencyBuckets() []float64 { return slices.Clone(kubeLatencyBuckets) }

// kubeMetrics are the families kube-apiserver exports for HTTP requests to
// resources, with its names, labels and values, alongside the
// watchcached_* ones. Safe for concurrent use.
type kubeMetrics struct {
	requests    *prometheus.CounterVec   // verb dry_run group version resource subresource scope component code
	duration    *prometheus.HistogramVec // the same but code; watches included, as in kube-apiserver
	longRunning *prometheus.GaugeVec     // verb group version resource subresource scope component
}

func newKubeMetrics() *kubeMetrics {
	req := []string{"verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component"}
	return &kubeMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "HTTP requests to resources by verb, dry run value, group, version, resource, subresource, scope, component and response code (kube-apiserver's family).",
		}, append(slices.Clip(req), "code")),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Latency of HTTP requests to resources, watches included, by verb, dry run value, group, version, resource, subresource, scope and component (kube-apiserver's family).",
			Buckets: kubeLatencyBuckets,
		}, req),
		longRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_longrunning_requests",
			Help: "Open long-running HTTP requests (watches) by verb, group, version, resource, subresource, scope and component (kube-apiserver's family).",
		}, []string{"verb", "group", "version", "resource", "subresource", "scope", "component"}),
	}
}

func (k *kubeMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{k.requests, k.duration, k.longRunning}
}

// kubeLabels are the label values of kube-apiserver's request families
// for one request.
type kubeLabels struct {
	res                       *api.Resource
	verb, dryRun, scope, code string
}

// routeLabels are the labels of a request answered with code, as
// kube-apiserver's route instrumentation gives them.
func routeLabels(r *http.Request, req *request, code int) kubeLabels {
	return kubeLabels{res: req.entry.res, verb: kubeVerb(r, req), dryRun: kubeDryRun(r.URL), scope: routeScope(req),
		code: strconv.Itoa(code)}
}

// droppedLabels are the labels of a request refused with 429 before it
// was served: in the scope of its request attributes, as kube-apiserver's
// max-in-flight filter counts it.
func droppedLabels(r *http.Request, req *request) kubeLabels {
	return kubeLabels{res: req.entry.res, verb: kubeVerb(r, req), dryRun: kubeDryRun(r.URL), scope: attributeScope(r, req),
		code: strconv.Itoa(http.StatusTooManyRequests)}
}

// observe records a request of labels l answered after elapsed.
func (k *kubeMetrics) observe(l kubeLabels, elapsed time.Duration) {
	res := l.res
	k.requests.WithLabelValues(l.verb, l.dryRun, res.Group, res.Version, res.Resource, "", l.scope, kubeComponent, l.code).Inc()
	k.duration.WithLabelValues(l.verb, l.dryRun, res.Group, res.Version, res.Resource, "", l.scope, kubeComponent).Observe(elapsed.Seconds())
}

// dropped records a request refused with 429 (droppedLabels): only
// counted.
func (k *kubeMetrics) dropped(l kubeLabels) {
	res := l.res
	k.requests.WithLabelValues(l.verb, l.dryRun, res.Group, res.Version, res.Resource, "", l.scope, kubeComponent, l.code).Inc()
}

// watching counts a watch as long-running until the returned func is
// called.
func (k *kubeMetrics) watching(r *http.Request, req *request) (done func()) {
	res := req.entry.res
	g := k.longRunning.WithLabelValues(verbWatch, res.Group, res.Version, res.Resource, "", attributeScope(r, req), kubeComponent)
	g.Inc()
	return g.Dec
}

// kubeVerb is the verb label kube-apiserver gives a request: the HTTP
// method's, with LIST and WATCH told from GET, APPLY from PATCH by the
// content type; a deletecollection is DELETE, as there.
func kubeVerb(r *http.Request, req *request) string {
	switch req.verb {
	case verbCreate:
		return http.MethodPost
	case verbUpdate:
		return http.MethodPut
	case verbDeleteCollection:
		return http.MethodDelete
	case verbPatch:
		if r.Header.Get("Content-Type") == "application/apply-patch+yaml" {
			return "APPLY"
		}
	}
	return req.verb
}

// routeScope is the scope kube-apiserver's route of the request has:
// resource for one object and for a create, namespace for a namespaced
// collection, cluster for a cluster-wide one.
func routeScope(req *request) string {
	switch {
	case req.name != "" || req.verb == verbCreate:
		return "resource"
	case req.namespace != "":
		return "namespace"
	}
	return "cluster"
}

// attributeScope is the scope of the request's attributes, where a list or
// watch with the field selector metadata.name=<n> is about one object.
func attributeScope(r *http.Request, req *request) string {
	if req.name == "" && req.verb != verbCreate && strings.Contains(r.URL.RawQuery, "fieldSelector") {
		if sel, err := fields.ParseSelector(r.URL.Query().Get("fieldSelector")); err == nil {
			if _, ok := sel.RequiresExactMatch("metadata.name"); ok {
				return "resource"
			}
		}
	}
	return routeScope(req)
}

// kubeDryRun is the dry_run label: "" without the parameter, else its
// values deduplicated, sorted and joined by commas; "invalid" when one
// is not All.
func kubeDryRun(u *url.URL) string {
	if !strings.Contains(u.RawQuery, "dryRun") {
		return ""
	}
	vals := u.Query()["dryRun"]
	for _, v := range vals {
		if v != "All" {
			return "invalid"
		}
	}
	slices.Sort(vals)
	return strings.Join(slices.Compact(vals), ",")
}
