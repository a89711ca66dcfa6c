package server

import (
	"context"
	"errors"
	"fmt"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/server/openapi"
)

// Defaults of Config.
const (
	DefaultMaxWatchTimeout = 60 * time.Minute
	DefaultMaxBodyBytes    = 3 << 20
)

// Config configures a Server.
type Config struct {
	// Storages serve the resources, one storage per resource; each one's
	// Resource() says what it serves.
	Storages []api.Storage
	// HealthChecks are the checks of /readyz (and of the gRPC health
	// service) besides the server's own "ping" and "shutdown", in output
	// order; see health.go. nil means one "cache:<resource>" check per
	// storage that implements api.Readiness; an empty slice means none.
	HealthChecks []api.HealthChecker
	// Registerer receives the server's metrics; nil means a new private
	// registry.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves; nil means the Registerer when it
	// is also a Gatherer (as a *prometheus.Registry is), else
	// prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
	// MaxWatchTimeout bounds a watch whose client gave no timeoutSeconds:
	// such a watch ends after a random duration in [max/2, max] (B44), so
	// reconnects of many clients spread out. Default 60 minutes.
	MaxWatchTimeout time.Duration
	// SlowClientTimeout closes a watch stream whose client has accepted
	// no byte for this long (a write or flush blocked on it), and counts
	// it. Default DefaultSlowClientTimeout.
	SlowClientTimeout time.Duration
	// BodyReadTimeout bounds reading a request's body over HTTP: a body
	// still arriving after it fails the request (400) and its connection.
	// Default DefaultRequestTimeout.
	BodyReadTimeout time.Duration
	// MaxBodyBytes bounds request bodies; larger ones get 413. Default 3 MiB.
	MaxBodyBytes int64
	// Version is reported by /version.
	Version string
	// Limits bound the requests in flight and the open watches (B93);
	// zero fields mean no bound.
	Limits Limits
	// RequestLimits bound URLs and selectors (B200, B201); zero fields
	// mean no bound.
	RequestLimits RequestLimits
	// GRPCMaxConcurrentStreams bounds the streams of one gRPC connection
	// (B202); 0 means DefaultGRPCMaxConcurrentStreams.
	GRPCMaxConcurrentStreams uint32
	// Authentication says who may make requests (authn.go); nil means no
	// authentication: every request is served as Anonymous.
	Authentication *Authentication
	// Writes says what becomes of writes (write_mode.go); the zero value
	// carries them out through the storages.
	Writes WritePolicy
	// ForwardUncachedReads proxies reads that bypass the cache
	// (?cache=false) to Writes.ForwardURL, the upstream API server the
	// caches follow, instead of serving them from the caches' sources
	// (http_uncached.go). It needs Writes.Mode WriteModeForward.
	ForwardUncachedReads bool
	// Authorizer decides what each authenticated user may do (authz.go);
	// nil allows everything (kube-apiserver's AlwaysAllow).
	Authorizer Authorizer
	// Profiling serves Go's pprof profiles under /debug/pprof/ (behind
	// authentication and authorization, as every path); off, those paths
	// are 404 like any unknown path.
	Profiling bool
}

// Validate checks the configuration after defaults are applied.
func (c *Config) Validate() error {
	if len(c.Storages) == 0 {
		return errors.New("server: no storages configured")
	}
	if l := c.Limits; l.MaxRequestsInflight < 0 || l.MaxMutatingRequestsInflight < 0 || l.MaxWatches < 0 {
		return fmt.Errorf("server: negative limit in %+v", l)
	}
	if l := c.RequestLimits; l.MaxURLBytes < 0 || l.MaxSelectorBytes < 0 || l.MaxSelectorRequirements < 0 {
		return fmt.Errorf("server: negative limit in %+v", l)
	}
	seen := map[string]bool{}
	for i, st := range c.Storages {
		if st == nil || st.Resource() == nil {
			return fmt.Errorf("server: storage %d has no resource", i)
		}
		r := st.Resource()
		if err := r.Validate(); err != nil {
			return fmt.Errorf("server: %w", err)
		}
		id := r.GroupVersion() + "/" + r.Resource
		if seen[id] {
			return fmt.Errorf("server: resource %s/%s configured twice", r.GroupVersion(), r.Resource)
		}
		seen[id] = true
	}
	if err := c.Writes.Validate(); err != nil {
		return err
	}
	if c.ForwardUncachedReads && c.Writes.Mode != WriteModeForward {
		return errors.New("server: ForwardUncachedReads needs Writes.Mode forward (the upstream's URL and transport)")
	}
	if err := validateHealthChecks(c.HealthChecks); err != nil {
		return err
	}
	if c.MaxWatchTimeout < 0 {
		return fmt.Errorf("server: MaxWatchTimeout %v is negative", c.MaxWatchTimeout)
	}
	if c.SlowClientTimeout < 0 || c.BodyReadTimeout < 0 {
		return fmt.Errorf("server: negative SlowClientTimeout %v or BodyReadTimeout %v", c.SlowClientTimeout, c.BodyReadTimeout)
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("server: MaxBodyBytes %d is negative", c.MaxBodyBytes)
	}
	return nil
}

func (c *Config) applyDefaults() {
	if c.MaxWatchTimeout == 0 {
		c.MaxWatchTimeout = DefaultMaxWatchTimeout
	}
	if c.SlowClientTimeout == 0 {
		c.SlowClientTimeout = DefaultSlowClientTimeout
	}
	if c.BodyReadTimeout == 0 {
		c.BodyReadTimeout = DefaultRequestTimeout
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.GRPCMaxConcurrentStreams == 0 {
		c.GRPCMaxConcurrentStreams = DefaultGRPCMaxConcurrentStreams
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.Gatherer == nil {
		if g, ok := c.Registerer.(prometheus.Gatherer); ok {
			c.Gatherer = g
		} else {
			c.Gatherer = prometheus.DefaultGatherer
		}
	}
}

// Server is the HTTP frontend. It is safe for concurrent use: requests are
// served concurrently, and CloseWatches may be called from any goroutine.
// Its configuration is fixed at New, except for the dynamic storages
// (SetDynamicStorages).
type Server struct {
	cfg       Config
	log       *slog.Logger
	metrics   *metrics
	admission *admission
	// rejected counts the refusals of every limit (B93, B200, B201).
	rejected *prometheus.CounterVec
	// selectors are the selector limits every query carries.
	selectors *selectorLimits
	// conns count the connections of the listeners from Listener.
	conns   *connMetrics
	handler http.Handler
	// health maps "livez", "healthz" and "readyz" to their checks; fixed
	// at New.
	health map[string][]api.HealthChecker
	// gzShares lets identical gzip lists share one compression.
	gzShares gzipShares

	// resources is the current resource table (see dynamic.go): loaded
	// once per request, replaced whole by SetDynamicStorages.
	resources atomic.Pointer[resourceTable]
	// dynamicMu serializes SetDynamicStorages.
	dynamicMu sync.Mutex
	// readForwarder proxies reads that bypass the cache to the upstream;
	// nil unless Config.ForwardUncachedReads.
	readForwarder http.Handler

	// hijacks are the HTTP/1.1 watches that took their connection over
	// (http_hijack.go), for WaitWatches.
	hijacks hijacks
	// gone notices taken-over connections whose client went away.
	gone goneWatcher

	// stopWatches ends every watch stream when cancelled (CloseWatches).
	stopCtx     context.Context
	stopWatches context.CancelFunc

	// openapiOnce builds openapiDocs (or openapiErr) on first use
	// (http_openapi.go); read-only afterwards.
	openapiOnce sync.Once
	openapiDocs *openapi.Documents
	openapiErr  error
}

// resourcesList is the served resources, in configuration order.
func (s *Server) resourcesList() []*api.Resource {
	out := make([]*api.Resource, 0, len(s.cfg.Storages))
	for _, st := range s.cfg.Storages {
		out = append(out, st.Resource())
	}
	return out
}

// New builds a Server. It registers the server's metrics with
// cfg.Registerer, so two servers need two registries.
func New(cfg Config) (*Server, error) {
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	rejected, conns := newRejected(), newConnMetrics()
	if err := registerAll(cfg.Registerer, rejected, conns.open, conns.accepted); err != nil {
		return nil, err
	}
	adm, err := newAdmission(cfg.Limits, cfg.Registerer, rejected)
	if err != nil {
		return nil, err
	}
	resources, err := newResourceTable(cfg.Storages)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: m, admission: adm,
		rejected: rejected, conns: conns, selectors: &selectorLimits{RequestLimits: cfg.RequestLimits, rejected: rejected}}
	s.resources.Store(resources)
	s.stopCtx, s.stopWatches = context.WithCancel(context.Background())
	s.health = s.healthEndpoints()
	if cfg.ForwardUncachedReads {
		s.readForwarder = s.newForwarder("read")
	}
	s.handler = s.withAccessLog(s.withURLLimit(s.withAuthentication(s.withAuthorization(s.withWriteMode(s.routes())))))
	return s, nil
}

// Handler returns the HTTP handler that serves every path.
func (s *Server) Handler() http.Handler { return s.handler }

// CloseWatches ends every open watch stream cleanly (the client sees the
// end of the stream and reconnects elsewhere) and answers later watch
// requests with 503. Call it before http.Server.Shutdown, which otherwise
// waits for watches that never end on their own, and WaitWatches after
// it, for the HTTP/1.1 watches Shutdown does not see.
func (s *Server) CloseWatches() {
	s.stopWatches()
	s.hijacks.cancelAll()
}

// CloseIdleConnections closes the idle connections the server holds to a
// kube-apiserver it forwards to (forward mode, ?cache=false reads of a
// follower). Call it once the frontends stopped.
func (s *Server) CloseIdleConnections() {
	if t := s.cfg.Writes.ForwardTransport; t != nil {
		utilnet.CloseIdleConnectionsFor(t)
	}
}

// validateHealthChecks refuses a nil check and empty, reserved or
// repeated names: each name must address one check in /readyz/<name>.
func validateHealthChecks(checks []api.HealthChecker) error {
	seen := map[string]bool{"ping": true, "shutdown": true}
	for i, c := range checks {
		if c == nil {
			return fmt.Errorf("server: health check %d is nil", i)
		}
		name := c.Name()
		if name == "" || strings.ContainsAny(name, "?#") {
			return fmt.Errorf("server: health check %d has an invalid name %q", i, name)
		}
		if seen[name] {
			return fmt.Errorf("server: health check %q is reserved or configured twice", name)
		}
		seen[name] = true
	}
	return nil
}
