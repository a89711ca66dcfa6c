package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/watchcached/watchcached/api"
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
	// Authentication says who may make requests (authn.go); nil means no
	// authentication: every request is served as Anonymous.
	Authentication *Authentication
	// Writes says what becomes of writes (write_mode.go); the zero value
	// carries them out through the storages.
	Writes WritePolicy
	// Authorizer decides what each authenticated user may do (authz.go);
	// nil allows everything (kube-apiserver's AlwaysAllow).
	Authorizer Authorizer
}

// Validate checks the configuration after defaults are applied.
func (c *Config) Validate() error {
	if len(c.Storages) == 0 {
		return errors.New("server: no storages configured")
	}
	if l := c.Limits; l.MaxRequestsInflight < 0 || l.MaxMutatingRequestsInflight < 0 || l.MaxWatches < 0 {
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
// Its configuration is fixed at New.
type Server struct {
	cfg       Config
	log       *slog.Logger
	resources *resourceTable
	metrics   *metrics
	admission *admission
	handler   http.Handler
	// health maps "livez", "healthz" and "readyz" to their checks; fixed
	// at New.
	health map[string][]api.HealthChecker
	// gzShares lets identical gzip lists share one compression.
	gzShares gzipShares

	// stopWatches ends every watch stream when cancelled (CloseWatches).
	stopCtx     context.Context
	stopWatches context.CancelFunc
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
	adm, err := newAdmission(cfg.Limits, cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, resources: newResourceTable(cfg.Storages), metrics: m, admission: adm}
	s.stopCtx, s.stopWatches = context.WithCancel(context.Background())
	s.health = s.healthEndpoints()
	s.handler = s.withAuthentication(s.withAuthorization(s.withWriteMode(s.routes())))
	return s, nil
}

// Handler returns the HTTP handler that serves every path.
func (s *Server) Handler() http.Handler { return s.handler }

// CloseWatches ends every open watch stream cleanly (the client sees the
// end of the stream and reconnects elsewhere) and answers later watch
// requests with 503. Call it before http.Server.Shutdown, which otherwise
// waits for watches that never end on their own.
func (s *Server) CloseWatches() { s.stopWatches() }

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
