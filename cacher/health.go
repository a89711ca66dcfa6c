package cacher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/watchcached/watchcached/api"
)

// Health tells whether etcd and the caches are fit to serve, for /readyz
// and the gRPC health service: the "etcd" check and one "cache:<resource>"
// check per Cacher.
//
// Its Run goroutine asks etcd for its current revision every Interval, each
// request bounded by Timeout; the checks only read the outcome, so a flood
// of probes costs etcd nothing and etcd's loss shows within Interval +
// Timeout. The same revision measures every cache (one request for all): a
// cache fails its check while it is not ready (listing or relisting) and
// while it has lagged etcd for longer than MaxCacheLag (see
// revisionSamples). Each transition is logged once (etcd lost or regained,
// a cache relisting, ready, lagging or caught up) and exported as metrics.
//
// Safe for concurrent use. The owner calls Run once; Checks may be called
// and their checks run from any goroutine.
type Health struct {
	cfg    HealthConfig
	log    *slog.Logger
	now    func() time.Time // the clock; tests set it before use
	caches []*cacheHealth
	m      *healthMetrics
	// probed is closed once the first probe's outcome is recorded, or when
	// Run returns before any.
	probed     chan struct{}
	probedOnce sync.Once

	mu       sync.Mutex
	etcdErr  error           // guarded by mu; the last probe's error (errNotProbed before the first)
	etcdFrom time.Time       // guarded by mu; since when etcdErr is nil or non-nil
	samples  revisionSamples // guarded by mu
}

// HealthConfig configures a Health.
type HealthConfig struct {
	// Store asks etcd for its current revision (one linearizable request
	// per probe, Store.CurrentRevision). Any resource's store will do.
	// Required.
	Store interface {
		CurrentRevision(ctx context.Context) (uint64, error)
	}
	// Cachers get one check each, in this order.
	Cachers []*Cacher
	// Interval between probes. Default 1 s.
	Interval time.Duration
	// Timeout bounds each probe. Default 2 s, kube-apiserver's
	// --etcd-healthcheck-timeout.
	Timeout time.Duration
	// MaxCacheLag is how long a ready cache may go without holding etcd's
	// current revision (as the probes saw it) before its check fails.
	// Default 10 s; negative disables the lag check. It must exceed every
	// cache's ProgressInterval: an idle resource's cache catches up with
	// etcd's revision only at its progress notifications.
	MaxCacheLag time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the health metrics; nil: not registered.
	Registerer prometheus.Registerer
}

// Defaults of HealthConfig.
const (
	DefaultHealthInterval = time.Second
	DefaultHealthTimeout  = 2 * time.Second
	DefaultMaxCacheLag    = 10 * time.Second
)

// Validate fills defaults and checks the configuration.
func (c *HealthConfig) Validate() error {
	if c.Store == nil {
		return errors.New("cacher: HealthConfig.Store is required")
	}
	if c.Interval == 0 {
		c.Interval = DefaultHealthInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultHealthTimeout
	}
	if c.MaxCacheLag == 0 {
		c.MaxCacheLag = DefaultMaxCacheLag
	}
	if c.Interval < 0 || c.Timeout < 0 {
		return errors.New("cacher: health interval and timeout must not be negative")
	}
	for _, ch := range c.Cachers {
		if c.MaxCacheLag > 0 && c.MaxCacheLag <= ch.cfg.ProgressInterval {
			return fmt.Errorf("cacher: the maximum cache lag %v must exceed the progress interval %v of %s, or an idle cache would look lagging",
				c.MaxCacheLag, ch.cfg.ProgressInterval, ch.res.GroupResource())
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

var (
	errNotProbed = errors.New("etcd not probed yet")
	errStopped   = errors.New("the etcd health probe stopped")
)

// cacheHealth is one cache's check.
type cacheHealth struct {
	h      *Health
	c      *Cacher
	name   string      // "cache:<resource>"
	logged cacheStatus // owned by Run's goroutine: the status last logged
	up     prometheus.Gauge
	lag    prometheus.Gauge
}

var _ api.HealthChecker = (*cacheHealth)(nil)

// cacheStatus is what a cache's check reports.
type cacheStatus int

const (
	cacheListing cacheStatus = iota // not ready: (re)listing from etcd
	cacheOK                         // ready and caught up within MaxCacheLag
	cacheLagging                    // ready but lagging etcd for longer than MaxCacheLag
	cacheStopped                    // closed
)

// NewHealth builds a Health; call Run to start probing.
func NewHealth(cfg HealthConfig) (*Health, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Health{cfg: cfg, log: cfg.Logger, now: time.Now, m: newHealthMetrics(cfg.Registerer), etcdErr: errNotProbed,
		probed: make(chan struct{})}
	for _, c := range cfg.Cachers {
		gr := c.res.GroupResource()
		name := "cache:" + gr
		h.caches = append(h.caches, &cacheHealth{h: h, c: c, name: name, logged: cacheListing,
			up: h.m.up.WithLabelValues(name, "readyz"), lag: h.m.lag.WithLabelValues(gr)})
	}
	return h, nil
}

// Checks are the checks for server.Config.HealthChecks: "etcd", then one
// per cache.
func (h *Health) Checks() []api.HealthChecker {
	checks := []api.HealthChecker{api.HealthCheck("etcd", func(context.Context) error { return h.etcd() })}
	for _, ch := range h.caches {
		checks = append(checks, ch)
	}
	return checks
}

// Run probes etcd and judges the caches every Interval until ctx ends;
// then the etcd check fails ("stopped").
func (h *Health) Run(ctx context.Context) {
	defer func() {
		h.mu.Lock()
		h.etcdErr = errStopped
		h.mu.Unlock()
		h.markProbed()
	}()
	tick := time.NewTicker(h.cfg.Interval)
	defer tick.Stop()
	for {
		h.probe(ctx)
		if ctx.Err() != nil {
			return
		}
		h.judgeCaches()
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// Probed is closed once the first probe's outcome, success or failure, is
// recorded (or Run returned before it): from then on the etcd check tells
// etcd's state rather than "etcd not probed yet". Daemon.WaitReady waits
// for it, so /readyz passes as soon as WaitReady returned.
func (h *Health) Probed() <-chan struct{} { return h.probed }

func (h *Health) markProbed() { h.probedOnce.Do(func() { close(h.probed) }) }

// etcd is the etcd check: the last probe's outcome.
func (h *Health) etcd() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.etcdErr
}

// probe asks etcd for its revision once and records the outcome.
func (h *Health) probe(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	rev, err := h.cfg.Store.CurrentRevision(pctx)
	cancel()
	if ctx.Err() != nil {
		return // shutting down; not etcd's doing
	}
	minRV := rev
	for _, ch := range h.caches {
		minRV = min(minRV, ch.c.RV())
	}
	now := h.now()
	h.mu.Lock()
	prev, from := h.etcdErr, h.etcdFrom
	if (prev == nil) != (err == nil) || prev == errNotProbed {
		h.etcdFrom = now
	}
	h.etcdErr = err
	if err == nil {
		h.samples.add(rev, now)
		h.samples.prune(minRV)
	}
	h.mu.Unlock()
	h.markProbed()
	h.m.setUp(h.m.up.WithLabelValues("etcd", "readyz"), err == nil)
	if err == nil {
		h.m.etcdRev.Set(float64(rev))
	}
	switch {
	case err != nil && (prev == nil || prev == errNotProbed):
		h.log.Warn("etcd unreachable; /readyz fails", "err", err)
	case err == nil && prev == errNotProbed:
		h.log.Info("etcd reachable", "revision", rev)
	case err == nil && prev != nil:
		h.log.Info("etcd reachable again", "revision", rev, "unreachableFor", now.Sub(from).Round(time.Millisecond))
	}
}

// judgeCaches logs each cache's transitions and updates its metrics.
func (h *Health) judgeCaches() {
	for _, ch := range h.caches {
		st, lag, err := ch.status()
		h.m.setUp(ch.up, err == nil)
		ch.lag.Set(lag.Seconds())
		if st == ch.logged {
			continue
		}
		prev := ch.logged
		ch.logged = st
		switch {
		case st == cacheListing:
			ch.c.log.Warn("cache not ready: relisting from etcd; /readyz fails")
		case st == cacheLagging:
			ch.c.log.Warn("cache lagging behind etcd; /readyz fails", "err", err)
		case st == cacheOK && prev == cacheLagging:
			ch.c.log.Info("cache caught up with etcd", "rv", ch.c.RV())
		case st == cacheOK:
			ch.c.log.Info("cache ready", "rv", ch.c.RV())
		}
	}
}

// Name is the check's name, "cache:<resource>".
func (ch *cacheHealth) Name() string { return ch.name }

// Check fails while the cache is not ready or lags etcd too long.
func (ch *cacheHealth) Check(context.Context) error {
	_, _, err := ch.status()
	return err
}

// status judges the cache now; lag is its lag behind etcd, whether or not
// that fails the check.
func (ch *cacheHealth) status() (cacheStatus, time.Duration, error) {
	h := ch.h
	rv := ch.c.RV()
	h.mu.Lock()
	lag, etcdRev := h.samples.lag(rv, h.now()), h.samples.newest()
	h.mu.Unlock()
	switch st, _ := ch.c.ready.get(); st {
	case stateStopped:
		return cacheStopped, lag, errors.New("the cache is stopped")
	case statePending:
		return cacheListing, lag, errors.New("the cache is not ready: (re)listing from etcd")
	}
	if allowed := h.cfg.MaxCacheLag; allowed > 0 && lag > allowed {
		return cacheLagging, lag, fmt.Errorf("the cache has lagged etcd for %v, more than the %v allowed (cache at revision %d, etcd at %d)",
			lag.Round(time.Millisecond), allowed, rv, etcdRev)
	}
	return cacheOK, lag, nil
}
