package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/server"
)

// Daemon is a running watchcached: etcd connection, storages and HTTP
// server. Start builds it; Close stops it. Close is safe to call from any
// goroutine and more than once; the address fields are read-only.
type Daemon struct {
	// HTTPAddr is the bound HTTP address, e.g. "127.0.0.1:43121".
	HTTPAddr string
	// GRPCAddr is the bound gRPC address; "" while gRPC is not served.
	GRPCAddr string
	// EtcdEndpoints are the etcd client URLs in use (the embedded etcd's
	// when none were configured).
	EtcdEndpoints []string

	cfg       Config
	log       *slog.Logger
	resources []*api.Resource
	registry  *prometheus.Registry
	embedded  *etcdstore.Embedded // nil with external etcd
	client    *clientv3.Client
	// healthClient carries the health probes only (etcd_clients.go).
	healthClient *clientv3.Client
	closers      []func() error // storages, closed in reverse order
	storages     []api.Storage
	// cacheMetrics are shared by every resource's cache, made once
	// (custom resources' caches are built on another goroutine).
	cacheMetrics     *cacher.Metrics
	cacheMetricsOnce sync.Once
	// etcdMetrics time every store's etcd requests.
	etcdMetrics *etcdstore.RequestMetrics
	server      *server.Server
	http        *http.Server
	served      chan struct{} // closed when http.Serve returned
	httpConns   *httpConns    // the HTTP connections still served; set with http
	serveErr    error         // set before served is closed
	grpc        *grpc.Server  // nil when gRPC is disabled
	grpcServed  chan struct{} // closed when grpc.Serve returned (never when disabled)
	grpcErr     error         // set before grpcServed is closed

	// upstreamREST reaches the followed upstream; nil when following etcd.
	upstreamREST *rest.Config
	// upstreamHTTP carries every request to the upstream; its idle
	// connections are closed when the daemon stops.
	upstreamHTTP *http.Client
	// revisionSource tells the source's current revision to the health
	// probes: a store on healthClient, or the upstream source.
	revisionSource interface {
		CurrentRevision(ctx context.Context) (uint64, error)
	}

	// cachers are the storages served from a cache; stores are every
	// resource's direct etcd store.
	cachers []*cacher.Cacher
	stores  []*etcdstore.Store
	// health runs the probes of /readyz's checks; stopHealth ends its Run
	// and waits (nil before it started).
	health     *cacher.Health
	stopHealth func()

	closeOnce sync.Once
	closeErr  error

	// stopCRDs stops serving custom resources (crds.go) and waits; nil
	// when CRDs are not served.
	stopCRDs func()

	// clusterID and warmDir tie the caches' snapshot files to one etcd
	// cluster and place them (warm.go); warmDir is "" when warm restart is
	// off. Set by initWarm before any cache is built.
	clusterID uint64
	warmDir   string

	// stopCompactor stops the compactor of etcd's history; nil when off.
	stopCompactor func()
	// stopRelease ends the memory release loop (memory_release.go).
	stopRelease func()

	// certs serves the TLS certificate of both frontends; nil without TLS.
	certs *server.CertReloader
	// authn is the frontends' authentication; nil when none is configured.
	authn *server.Authentication
	// authz authorizes the frontends' requests; nil allows everything.
	authz server.Authorizer
}

// Start validates cfg and starts everything: the embedded etcd (when no
// etcd servers are configured), the etcd client, one storage per resource,
// the server and the HTTP listener. On error, whatever was started is
// stopped before Start returns.
func Start(ctx context.Context, cfg Config) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, log: cfg.Logger, registry: prometheus.NewRegistry(),
		served: make(chan struct{}), grpcServed: make(chan struct{})}
	if d.log == nil {
		d.log = slog.Default()
	}
	if err := d.start(ctx); err != nil {
		d.stopBackends()
		return nil, err
	}
	d.log.Info("watchcached serving", "http", d.HTTPAddr, "grpc", d.GRPCAddr, "etcd", d.EtcdEndpoints,
		"resources", len(d.resources), "watchCache", cfg.WatchCache, "writeMode", cfg.EffectiveWriteMode())
	return d, nil
}

func (d *Daemon) start(ctx context.Context) error {
	var err error
	if d.resources, err = d.loadResources(); err != nil {
		return err
	}
	if d.cfg.UpstreamMode() {
		err = d.startUpstream()
	} else {
		err = d.startEtcd(ctx)
	}
	if err != nil {
		return err
	}
	storages := d.storages
	d.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := d.startHealth(); err != nil {
		return err
	}
	if err := d.loadAuth(); err != nil {
		return err
	}
	writes, err := d.writePolicy()
	if err != nil {
		return err
	}
	d.server, err = server.New(server.Config{
		Storages:          storages,
		HealthChecks:      d.health.Checks(),
		Registerer:        d.registry,
		Gatherer:          d.registry,
		Logger:            d.log,
		MaxWatchTimeout:   d.cfg.MaxWatchTimeout,
		SlowClientTimeout: d.cfg.WatchSlowClientTimeout,
		Version:           d.cfg.Version,
		Limits:            d.cfg.Limits,
		RequestLimits:     d.cfg.RequestLimits,
		// Validate keeps it within uint32.
		GRPCMaxConcurrentStreams: uint32(d.cfg.GRPCMaxConcurrentStreams),
		Authentication:           d.authn,
		Writes:                   writes,
		Authorizer:               d.authz,
		Profiling:                d.cfg.Profiling,
		// Following an upstream, ?cache=false reads are its own answers.
		ForwardUncachedReads: d.upstreamREST != nil && writes.Mode == server.WriteModeForward,
	})
	if err != nil {
		return err
	}
	if err := d.startCRDs(); err != nil {
		return err
	}
	if err := d.listenGRPC(); err != nil {
		return err
	}
	if err := d.listen(); err != nil {
		if d.grpc != nil {
			d.grpc.Stop()
			<-d.grpcServed
		}
		return err
	}
	d.stopRelease = goRun(func(ctx context.Context) { releaseMemory(ctx, d.WaitReady, d.log) })
	return nil
}

// startEtcd connects to etcd (starting the embedded one if needed),
// builds one etcd-fed storage per resource and starts the compactor.
func (d *Daemon) startEtcd(ctx context.Context) error {
	if err := d.connectEtcd(ctx); err != nil {
		return err
	}
	var err error
	if d.etcdMetrics, err = etcdstore.NewRequestMetrics(d.registry, server.KubeLatencyBuckets()); err != nil {
		return err
	}
	if d.cfg.WatchCache {
		d.initWarm(ctx)
	}
	d.storages = make([]api.Storage, 0, len(d.resources))
	for _, res := range d.resources {
		st, err := d.newStorage(res)
		if err != nil {
			return fmt.Errorf("resource %s: %w", res.GroupResource(), err)
		}
		d.storages = append(d.storages, st)
	}
	if d.revisionSource, err = d.healthRevisionSource(); err != nil {
		return err
	}
	return d.startCompactor()
}

// writePolicy is the server's write policy: the configured one, or with
// an upstream, forwarding to it (or rejecting).
func (d *Daemon) writePolicy() (server.WritePolicy, error) {
	if d.upstreamREST == nil {
		return d.cfg.writePolicy()
	}
	mode := d.cfg.EffectiveWriteMode()
	if mode == server.WriteModeReject {
		return server.WritePolicy{Mode: mode}, nil
	}
	return upstreamWritePolicy(mode, d.upstreamREST, d.upstreamHTTP)
}

func (d *Daemon) loadResources() ([]*api.Resource, error) {
	switch {
	case d.cfg.ResourcesFile != "":
		return LoadResources(d.cfg.ResourcesFile, d.cfg.EtcdPrefix)
	case len(d.cfg.Resources) > 0:
		return d.cfg.Resources, nil
	}
	return DefaultResources(), nil
}

// newStorage builds the storage that serves res (buildStorage) and
// registers what it starts in d.closers, d.stores and d.cachers.
func (d *Daemon) newStorage(res *api.Resource) (api.Storage, error) {
	st, store, c, err := d.buildStorage(res)
	if store != nil {
		d.closers = append(d.closers, store.Close)
		d.stores = append(d.stores, store)
	}
	if c != nil {
		d.closers = append(d.closers, func() error { c.Close(); return nil })
		d.cachers = append(d.cachers, c)
	}
	return st, err
}

// buildStorage builds the storage that serves res: the direct etcd store,
// wrapped by a started watch cache when the cache is on for res. It
// returns what it started (store, c: nil when not built) for the caller
// to close, also on error.
func (d *Daemon) buildStorage(res *api.Resource) (api.Storage, *etcdstore.Store, *cacher.Cacher, error) {
	store, err := etcdstore.New(etcdstore.Config{
		Client:   d.client,
		Resource: res,
		Prefix:   d.cfg.EtcdPrefix,
		Logger:   d.log.With("resource", res.GroupResource()),
		// B62: counted per read, logged once per key by the store.
		OnDecodeError:  decodeErrorCounter(d.registry, res),
		RequestMetrics: d.etcdMetrics,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if !d.cfg.WatchCache || !res.CacheEnabled() {
		return store, store, nil, nil
	}
	d.cacheMetricsOnce.Do(func() { d.cacheMetrics = cacher.NewMetrics(d.registry) })
	c, err := cacher.New(cacher.Config{
		Source:           store,
		Logger:           d.log,
		Metrics:          d.cacheMetrics,
		Warm:             d.warmStore(res, store),
		WarmSaveInterval: d.cfg.WarmRestartInterval,
	})
	if err != nil {
		return nil, store, nil, err
	}
	c.Start()
	return c, store, c, nil
}

// startHealth starts the probes behind /readyz's etcd and cache checks;
// stopBackends stops them before the storages close.
func (d *Daemon) startHealth() error {
	h, err := cacher.NewHealth(cacher.HealthConfig{
		Store:       d.revisionSource,
		Cachers:     d.cachers,
		Timeout:     d.cfg.EtcdHealthcheckTimeout,
		MaxCacheLag: d.cfg.maxCacheLag(),
		Logger:      d.log,
		Registerer:  d.registry,
	})
	if err != nil {
		return err
	}
	d.health = h
	d.stopHealth = goRun(h.Run)
	return nil
}

// goRun runs run(ctx) on a goroutine of its own and returns what stops it:
// a function that cancels ctx and waits until run has returned.
func goRun(run func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// WaitReady blocks until every cache has applied its initial list and the
// health probe has reported once (the states /readyz reports), or ctx
// ends. Clients need not wait: until then the caches answer with 429 or
// delegate to etcd (B15).
func (d *Daemon) WaitReady(ctx context.Context) error {
	for _, st := range d.storages {
		if w, ok := st.(interface{ WaitReady(context.Context) error }); ok {
			if err := w.WaitReady(ctx); err != nil {
				return fmt.Errorf("%s: %w", st.Resource().GroupResource(), err)
			}
		}
	}
	if d.health == nil {
		return nil
	}
	select {
	case <-d.health.Probed():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("health probe: %w", ctx.Err())
	}
}

// connectEtcd starts the embedded etcd if needed and creates the client.
func (d *Daemon) connectEtcd(ctx context.Context) error {
	d.EtcdEndpoints = d.cfg.EtcdServers
	if len(d.EtcdEndpoints) == 0 {
		e, err := etcdstore.StartEmbedded(ctx, etcdstore.EmbeddedConfig{
			Dir: d.cfg.DataDir, Fast: d.cfg.FastEmbeddedEtcd, ClientURL: d.cfg.EmbeddedEtcdURL,
			QuotaBackendBytes: d.cfg.EmbeddedQuotaBytes(),
			// etcd's own warnings and errors, in the daemon's log (B162).
			Logger: etcdstore.ZapToSlog(d.log.With("component", "etcd"), zapcore.WarnLevel),
		})
		if err != nil {
			return err
		}
		d.embedded = e
		d.EtcdEndpoints = []string{e.Endpoint}
	}
	tlsCfg, err := d.etcdTLS()
	if err != nil {
		return err
	}
	return d.connectEtcdClients(tlsCfg)
}

// etcdTLS is the client TLS configuration: nil for plain http endpoints
// without TLS files.
func (d *Daemon) etcdTLS() (*tls.Config, error) {
	info := transport.TLSInfo{CertFile: d.cfg.EtcdCertFile, KeyFile: d.cfg.EtcdKeyFile, TrustedCAFile: d.cfg.EtcdCAFile}
	if info.Empty() && info.TrustedCAFile == "" {
		for _, ep := range d.EtcdEndpoints {
			if strings.HasPrefix(ep, "https://") {
				return &tls.Config{MinVersion: tls.VersionTLS12}, nil
			}
		}
		return nil, nil
	}
	c, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd TLS: %w", err)
	}
	return c, nil
}

// maxHeaderBytes bounds an HTTP request's line and headers, as
// kube-apiserver sets it (net/http answers 431 past it).
const maxHeaderBytes = 1 << 20

// listen binds the HTTP address and starts serving.
func (d *Daemon) listen() error {
	ln, err := net.Listen("tcp", d.cfg.Listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	d.HTTPAddr = ln.Addr().String()
	ln = d.server.Listener(ln, "http", d.cfg.MaxConnections)
	d.httpConns = newHTTPConns()
	d.http = &http.Server{
		ConnState:         d.httpConns.state,
		Handler:           d.server.Handler(),
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
		TLSConfig:         d.tlsConfig(),
		HTTP2:             d.cfg.http2Config(),
	}
	go func() {
		defer close(d.served)
		var err error
		if d.certs != nil {
			err = d.http.ServeTLS(ln, "", "") // HTTP/2 enabled by ServeTLS
		} else {
			err = d.http.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			d.serveErr = err
		}
	}()
	return nil
}

// listenGRPC binds the gRPC address, when one is configured, and starts
// serving watchcached.v1.WatchCache, health and reflection.
func (d *Daemon) listenGRPC() error {
	if d.cfg.GRPCListen == "" {
		return nil
	}
	var opts []grpc.ServerOption
	if d.certs != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(d.tlsConfig())))
	}
	gs, err := d.server.NewGRPCServer(opts...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", d.cfg.GRPCListen)
	if err != nil {
		return fmt.Errorf("--grpc-listen: %w", err)
	}
	d.GRPCAddr = ln.Addr().String()
	ln = d.server.Listener(ln, "grpc", d.cfg.MaxConnections)
	d.grpc = gs
	go func() {
		defer close(d.grpcServed)
		d.grpcErr = gs.Serve(ln)
	}()
	return nil
}

// stopGRPC stops the gRPC server: gracefully (in-flight calls finish;
// watch streams were ended by CloseWatches) until ctx is done, then
// forcibly.
func (d *Daemon) stopGRPC(ctx context.Context) error {
	if d.grpc == nil {
		return nil
	}
	stopped := make(chan struct{})
	go func() {
		d.grpc.GracefulStop()
		close(stopped)
	}()
	var err error
	select {
	case <-stopped:
	case <-ctx.Done():
		err = fmt.Errorf("grpc shutdown: %w", ctx.Err())
		d.grpc.Stop()
		<-stopped
	}
	<-d.grpcServed
	if d.grpcErr != nil && !errors.Is(d.grpcErr, grpc.ErrServerStopped) {
		err = errors.Join(err, d.grpcErr)
	}
	return err
}

// Close shuts down gracefully (B64): it ends every watch stream cleanly,
// stops accepting and waits for requests in flight (bounded by ctx, else by
// Config.ShutdownTimeout), and for the goroutines of the HTTP connections
// it closed (B259), then stops the compactor and closes the storages, the
// etcd client and the embedded etcd, in that order. No goroutine started
// by Start is left.
func (d *Daemon) Close(ctx context.Context) error {
	d.closeOnce.Do(func() {
		if _, ok := ctx.Deadline(); !ok && d.cfg.ShutdownTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d.cfg.ShutdownTimeout)
			defer cancel()
		}
		var errs []error
		d.server.CloseWatches()
		// Both frontends stop accepting at once and drain side by side: a
		// slow gRPC call must neither keep HTTP accepting nor use up the
		// HTTP drain's time.
		grpcStopped := make(chan error, 1)
		go func() { grpcStopped <- d.stopGRPC(ctx) }()
		shutdownErr := d.http.Shutdown(ctx)
		if shutdownErr != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", shutdownErr))
			_ = d.http.Close()
		}
		// HTTP/1.1 watches took their connections over: Shutdown does
		// not wait for them.
		if err := d.server.WaitWatches(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: watches: %w", err))
		}
		<-d.served
		// After Serve returned: no connection is accepted any more.
		if err := d.httpConns.wait(ctx); err != nil && shutdownErr == nil {
			errs = append(errs, fmt.Errorf("http connections still closing: %w", err))
		}
		errs = append(errs, d.serveErr, <-grpcStopped)
		d.server.CloseIdleConnections()
		errs = append(errs, d.stopBackends())
		d.closeErr = errors.Join(errs...)
		d.log.Info("watchcached stopped")
	})
	return d.closeErr
}

// stopBackends stops the health probes and the compactor, then closes the
// storages (last built first), the etcd client and the embedded etcd; each
// may be absent after a failed start.
func (d *Daemon) stopBackends() error {
	if d.stopRelease != nil {
		d.stopRelease()
		d.stopRelease = nil
	}
	if d.stopCompactor != nil {
		d.stopCompactor()
		d.stopCompactor = nil
	}
	var errs []error
	if d.stopHealth != nil {
		d.stopHealth()
		d.stopHealth = nil
	}
	if d.stopCRDs != nil {
		d.stopCRDs()
		d.stopCRDs = nil
	}
	for i := len(d.closers) - 1; i >= 0; i-- {
		errs = append(errs, d.closers[i]())
	}
	d.closers = nil
	if d.client != nil {
		errs = append(errs, d.client.Close())
	}
	if d.healthClient != nil {
		errs = append(errs, d.healthClient.Close())
	}
	if d.embedded != nil {
		d.embedded.Close()
	}
	return errors.Join(errs...)
}

// Run starts the daemon, serves until ctx is done or the server fails, and
// shuts down.
func Run(ctx context.Context, cfg Config) error {
	d, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	var etcdErr <-chan error
	if d.embedded != nil {
		etcdErr = d.embedded.Err()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case <-d.served:
		runErr = fmt.Errorf("http server: %w", d.serveErr)
	case <-d.grpcServed:
		runErr = fmt.Errorf("grpc server: %w", d.grpcErr)
	case err := <-etcdErr:
		runErr = fmt.Errorf("embedded etcd: %w", err)
	}
	return errors.Join(runErr, d.Close(context.WithoutCancel(ctx)))
}
