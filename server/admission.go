package server

import (
	"context"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// Admission control (B93), after kube-apiserver's max-in-flight filter:
// reads (get, list) and writes each have a bound on the requests being
// served at once, and watch streams, which kube-apiserver does not count
// as in flight, have a bound of their own on the streams open. A request
// over its bound is refused at once, before any work, with 429
// TooManyRequests "Too many requests, please try again later." and
// Retry-After: 1 (gRPC: UNAVAILABLE, reason TooManyRequests, RetryInfo
// 1 s). The bounds are shared by the HTTP and gRPC frontends. Health,
// metrics, discovery and OpenAPI requests are never counted.

// Limits are the admission bounds; a zero field means no bound.
type Limits struct {
	// MaxRequestsInflight bounds the get and list requests being served.
	MaxRequestsInflight int
	// MaxMutatingRequestsInflight bounds the create, update, patch and
	// delete requests being served.
	MaxMutatingRequestsInflight int
	// MaxWatches bounds the open watch streams.
	MaxWatches int
}

// DefaultLimits are the daemon's defaults: kube-apiserver's for requests
// in flight, and a generous bound on watches.
var DefaultLimits = Limits{MaxRequestsInflight: 400, MaxMutatingRequestsInflight: 200, MaxWatches: 100000}

// Request kinds of the admission metrics; kube-apiserver's names for the
// first two.
const (
	kindReadOnly = "readOnly"
	kindMutating = "mutating"
	kindWatch    = "watch"
)

// msgTooManyRequests is kube-apiserver's message for a request over the
// in-flight limit.
const msgTooManyRequests = "Too many requests, please try again later."

// errTooManyRequests answers a refused request: 429 over HTTP with
// Retry-After 1 (the table's row of ErrNotReady).
var errTooManyRequests error = &api.Error{Err: api.ErrNotReady, Message: msgTooManyRequests, RetryAfterSeconds: 1}

// gate is one bound. Safe for concurrent use.
type gate struct {
	max      int64        // 0: no bound; fixed
	n        atomic.Int64 // admitted and not yet released
	inflight prometheus.Gauge
	dropped  prometheus.Counter
	rejected prometheus.Counter // the limit's row of watchcached_rejected_requests_total
}

// acquire admits one request, or reports false (and counts the refusal)
// when the gate is full. Call release once for each true.
func (g *gate) acquire() bool {
	if g.n.Add(1) > g.max && g.max > 0 {
		g.n.Add(-1)
		g.dropped.Inc()
		g.rejected.Inc()
		return false
	}
	g.inflight.Inc()
	return true
}

func (g *gate) release() {
	g.n.Add(-1)
	g.inflight.Dec()
}

// admission holds the three gates. Fixed at New; safe for concurrent use.
type admission struct {
	gates map[string]*gate // by kind
}

// newAdmission builds the gates; a refusal is also counted in rejected
// under the limit's flag name.
func newAdmission(l Limits, reg prometheus.Registerer, rejected *prometheus.CounterVec) (*admission, error) {
	inflight := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "watchcached_current_inflight_requests",
		Help: "Requests being served (readOnly, mutating) and watch streams open (watch), over HTTP and gRPC.",
	}, []string{"request_kind"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "watchcached_dropped_requests_total",
		Help: "Requests refused with 429 because their kind was at its limit (readOnly, mutating, watch).",
	}, []string{"request_kind"})
	a := &admission{gates: map[string]*gate{}}
	limit := map[string]string{kindReadOnly: limitReadOnly, kindMutating: limitMutating, kindWatch: limitWatches}
	for kind, max := range map[string]int{kindReadOnly: l.MaxRequestsInflight, kindMutating: l.MaxMutatingRequestsInflight, kindWatch: l.MaxWatches} {
		a.gates[kind] = &gate{max: int64(max), inflight: inflight.WithLabelValues(kind), dropped: dropped.WithLabelValues(kind),
			rejected: rejected.WithLabelValues(limit[kind])}
	}
	return a, registerAll(reg, inflight, dropped)
}

// verbKind is the admission kind of a request verb.
func verbKind(verb string) string {
	switch verb {
	case verbWatch:
		return kindWatch
	case verbGet, verbList:
		return kindReadOnly
	}
	return kindMutating
}

// admit admits a request of verb, returning the func that releases it, or
// errTooManyRequests.
func (a *admission) admit(verb string) (release func(), err error) {
	g := a.gates[verbKind(verb)]
	if !g.acquire() {
		return nil, errTooManyRequests
	}
	return g.release, nil
}

// grpcVerbs are the verbs of the WatchCache methods; other services
// (health, reflection) are not admission-controlled.
var grpcVerbs = map[string]string{
	pb.WatchCache_Get_FullMethodName: verbGet, pb.WatchCache_List_FullMethodName: verbList,
	pb.WatchCache_Watch_FullMethodName: verbWatch, pb.WatchCache_Create_FullMethodName: verbCreate,
	pb.WatchCache_Update_FullMethodName: verbUpdate, pb.WatchCache_Patch_FullMethodName: verbPatch,
	pb.WatchCache_Delete_FullMethodName: verbDelete,
}

// unaryAdmit is the gRPC unary interceptor of admission control.
func (s *Server) unaryAdmit(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	verb, ok := grpcVerbs[info.FullMethod]
	if !ok {
		return handler(ctx, req)
	}
	release, err := s.admission.admit(verb)
	if err != nil {
		return nil, grpcError(s.log, err, nil, "")
	}
	defer release()
	return handler(ctx, req)
}

// streamAdmit is the gRPC stream interceptor of admission control.
func (s *Server) streamAdmit(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	verb, ok := grpcVerbs[info.FullMethod]
	if !ok {
		return handler(srv, ss)
	}
	release, err := s.admission.admit(verb)
	if err != nil {
		return grpcError(s.log, err, nil, "")
	}
	defer release()
	return handler(srv, ss)
}
