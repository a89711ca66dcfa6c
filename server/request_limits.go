package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/watchcached/watchcached/api"
)

// Request limits (B200, B201): what one request may ask the server to
// parse and keep. A selector is parsed once per list and kept by a watch
// for its whole life (and evaluated against every event), so one client
// sending a huge selector on many watches could otherwise pin gigabytes.
// kube-apiserver bounds neither (only the request line and headers, at
// 1 MiB, by net/http's MaxHeaderBytes), so these are additions. Both
// frontends share the selector checks (core_query.go); the URL check is
// HTTP's own (gRPC's header list is bounded by grpcMaxHeaderListSize).

// RequestLimits bound the size of what a request carries; a zero field
// means no bound.
type RequestLimits struct {
	// MaxURLBytes bounds the request target (path and query, as sent) of
	// an HTTP request.
	MaxURLBytes int
	// MaxSelectorBytes bounds each of labelSelector and fieldSelector, in
	// bytes after URL decoding (or as the gRPC field carries them).
	MaxSelectorBytes int
	// MaxSelectorRequirements bounds the requirements (the comma-separated
	// terms) of each selector; a set-based term (`in`, `notin`) is one
	// requirement whatever its number of values, which MaxSelectorBytes
	// bounds.
	MaxSelectorRequirements int
}

// DefaultRequestLimits are the daemon's defaults: far above what
// client-go, kubectl and controllers send (a selector of a few hundred
// bytes), far below what pins memory.
var DefaultRequestLimits = RequestLimits{MaxURLBytes: 64 << 10, MaxSelectorBytes: 16 << 10, MaxSelectorRequirements: 100}

// The limit label values of watchcached_rejected_requests_total: the
// daemon's flag names.
const (
	limitReadOnly     = "max-requests-inflight"
	limitMutating     = "max-mutating-requests-inflight"
	limitWatches      = "max-watches"
	limitURL          = "max-url-bytes"
	limitSelector     = "max-selector-bytes"
	limitRequirements = "max-selector-requirements"
)

// newRejected is watchcached_rejected_requests_total.
func newRejected() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "watchcached_rejected_requests_total",
		Help: "Requests refused by a limit, over HTTP and gRPC, by limit (the flag's name: max-requests-inflight, " +
			"max-mutating-requests-inflight, max-watches, max-url-bytes, max-selector-bytes, max-selector-requirements).",
	}, []string{"limit"})
}

// selectorLimits checks a query's selectors against RequestLimits and
// counts the refusals. Fixed at New; safe for concurrent use. A nil
// *selectorLimits checks nothing.
type selectorLimits struct {
	RequestLimits
	rejected *prometheus.CounterVec // watchcached_rejected_requests_total
}

// checkBytes refuses (400, naming the parameter and the limit) a selector
// longer than MaxSelectorBytes; it runs before the selector is parsed.
func (l *selectorLimits) checkBytes(q *query) error {
	if l == nil || l.MaxSelectorBytes <= 0 {
		return nil
	}
	for _, p := range [2]struct{ param, sel string }{{"labelSelector", q.labelSelector}, {"fieldSelector", q.fieldSelector}} {
		if len(p.sel) > l.MaxSelectorBytes {
			l.rejected.WithLabelValues(limitSelector).Inc()
			return api.BadParam(p.param, "invalid %s: %d bytes, more than the limit of %d bytes", p.param, len(p.sel), l.MaxSelectorBytes)
		}
	}
	return nil
}

// checkRequirements refuses a parsed selector of more requirements than
// MaxSelectorRequirements.
func (l *selectorLimits) checkRequirements(p api.Predicate) error {
	if l == nil || l.MaxSelectorRequirements <= 0 {
		return nil
	}
	param, n := "labelSelector", labelRequirements(p.Label)
	if n <= l.MaxSelectorRequirements {
		param, n = "fieldSelector", fieldRequirements(p.Field)
	}
	if n <= l.MaxSelectorRequirements {
		return nil
	}
	l.rejected.WithLabelValues(limitRequirements).Inc()
	return api.BadParam(param, "invalid %s: %d requirements, more than the limit of %d", param, n, l.MaxSelectorRequirements)
}

func labelRequirements(s labels.Selector) int {
	if s == nil {
		return 0
	}
	r, _ := s.Requirements()
	return len(r)
}

func fieldRequirements(s fields.Selector) int {
	if s == nil {
		return 0
	}
	return len(s.Requirements())
}

// withURLLimit answers 400 to an HTTP request whose target is longer than
// MaxURLBytes, before anything else reads it.
func (s *Server) withURLLimit(next http.Handler) http.Handler {
	max := s.cfg.RequestLimits.MaxURLBytes
	if max <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := len(r.RequestURI); n > max {
			s.rejected.WithLabelValues(limitURL).Inc()
			writeError(w, s.log, api.BadParam("", "request URL too long: %d bytes, more than the limit of %d bytes", n, max), nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}
