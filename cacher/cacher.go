package cacher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
)

// Config configures one Cacher.
type Config struct {
	// Source is what the reflector follows and the delegate for what the
	// cache cannot answer (an etcdstore.Store). Required.
	Source Source
	// WatchCache sizes the event ring. IndexedFields defaults to the
	// resource's IndexedFields.
	WatchCache watchcache.Config
	// FreshnessTimeout bounds every wait for the cache to reach a revision
	// (B1, B3, B4, B12, B33). Default 3 s.
	FreshnessTimeout time.Duration
	// BookmarkInterval is how often a watcher that allows bookmarks gets one
	// (B42). Default 60 s.
	BookmarkInterval time.Duration
	// ProgressInterval is how often the reflector asks etcd for a progress
	// notification, so the cache RV (and bookmarks) advance while the
	// resource is idle. Default 5 s.
	ProgressInterval time.Duration
	// ListPageSize is the page size of the reflector's initial list.
	// Default 10,000.
	ListPageSize int64
	// ConsistencyCheckInterval is how often the cache is compared with etcd
	// at one revision (B65). Default 10 min; negative disables it.
	ConsistencyCheckInterval time.Duration
	// CompactionPollInterval is how often the cache asks etcd for its
	// compacted revision (see compaction.go). Default 1 min; negative
	// disables it (compactions are then learned only from ObserveCompaction and
	// from etcd's answers).
	CompactionPollInterval time.Duration
	// Warm, if set, keeps the store between runs (warm.go): the first fill
	// loads it and watches from its revision instead of listing; the store
	// is saved every WarmSaveInterval and at Close.
	Warm WarmStore
	// WarmSaveInterval is how often the store is saved to Warm. Default
	// 1 min; negative saves only at Close.
	WarmSaveInterval time.Duration
	// WarmCheckRangeKeys is how many of the snapshot's keys each range of
	// the check after a warm start holds (rangecheck.go). Default
	// DefaultWarmCheckRangeKeys.
	WarmCheckRangeKeys int
	// Clock times bookmarks; nil means the real clock. Tests inject a fake
	// one (k8s.io/utils/clock/testing) so that bookmark timing is checked
	// without waiting.
	Clock clock.Clock
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Metrics; nil means none are recorded.
	Metrics *Metrics
}

// DefaultProgressInterval is Config.ProgressInterval's default.
const DefaultProgressInterval = 5 * time.Second

// Validate fills defaults and checks the configuration.
func (c *Config) Validate() error {
	if c.Source == nil {
		return errors.New("cacher: Config.Source is required")
	}
	if c.FreshnessTimeout == 0 {
		c.FreshnessTimeout = 3 * time.Second
	}
	if c.BookmarkInterval == 0 {
		c.BookmarkInterval = 60 * time.Second
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = DefaultProgressInterval
	}
	if c.ConsistencyCheckInterval == 0 {
		c.ConsistencyCheckInterval = 10 * time.Minute
	}
	if c.CompactionPollInterval == 0 {
		c.CompactionPollInterval = time.Minute
	}
	if c.WarmSaveInterval == 0 {
		c.WarmSaveInterval = DefaultWarmSaveInterval
	}
	if c.ListPageSize == 0 {
		c.ListPageSize = 10000
	}
	if c.WarmCheckRangeKeys == 0 {
		c.WarmCheckRangeKeys = DefaultWarmCheckRangeKeys
	}
	if c.FreshnessTimeout < 0 || c.BookmarkInterval < 0 || c.ProgressInterval < 0 || c.ListPageSize < 0 ||
		c.WarmCheckRangeKeys < 0 {
		return errors.New("cacher: durations, page size and range size must not be negative")
	}
	if c.WatchCache.IndexedFields == nil {
		c.WatchCache.IndexedFields = c.Source.Resource().IndexedFields
	}
	if err := c.WatchCache.Validate(); err != nil {
		return fmt.Errorf("cacher: %w", err)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return nil
}

// Cacher serves one resource from memory (see the package doc). It is safe
// for concurrent use. Start begins the reflector; Close stops it, ends every
// watcher and waits for everything it started.
type Cacher struct {
	cfg        Config
	res        *api.Resource
	etcdPrefix string // e.g. "/registry"
	prefix     string // the resource's etcd key prefix, with trailing slash
	store      Source
	wc         *watchcache.WatchCache
	log        *slog.Logger
	clock      clock.Clock
	m          *resourceMetrics

	ready  *readiness
	wake   *notifier
	revs   *revisionBatcher
	stopCh chan struct{} // closed by Close: ends watchers and waits
	relist chan struct{} // a failed consistency check asks the reflector to relist

	warm        warmState     // warm restart (warm.go)
	lists       atomic.Uint64 // ListAll calls of the reflector
	warmChecked atomic.Uint64 // consistency checks after a warm start, done

	compacted atomic.Uint64 // etcd's compacted revision as last learned
	compactCh chan struct{} // wakes the reflector to free compacted snapshots; buffered 1

	ctx    context.Context // lives until Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the reflector and revision requests

	startOnce, closeOnce sync.Once
}

var (
	_ api.Storage      = (*Cacher)(nil)
	_ api.StreamLister = (*Cacher)(nil)
	_ api.Readiness    = (*Cacher)(nil)
)

// New builds a Cacher; call Start to fill it.
func New(cfg Config) (*Cacher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wc, err := watchcache.New(cfg.WatchCache)
	if err != nil {
		return nil, fmt.Errorf("cacher: %w", err)
	}
	res := cfg.Source.Resource()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cacher{
		cfg:        cfg,
		res:        res,
		etcdPrefix: strings.TrimSuffix(cfg.Source.KeyPrefix(), res.Prefix("")),
		prefix:     cfg.Source.KeyPrefix(),
		store:      cfg.Source,
		wc:         wc,
		log:        cfg.Logger.With("resource", res.GroupResource()),
		clock:      cfg.Clock,
		m:          cfg.Metrics.forResource(res.Group, res.Resource),
		ready:      newReadiness(time.Now()),
		wake:       newNotifier(res.IndexedFields),
		stopCh:     make(chan struct{}),
		relist:     make(chan struct{}, 1),
		compactCh:  make(chan struct{}, 1),
		ctx:        ctx,
		cancel:     cancel,
	}
	c.revs = newRevisionBatcher(c)
	return c, nil
}

// Start launches the reflector. It returns at once; Ready reports when the
// initial list is applied.
func (c *Cacher) Start() {
	c.startOnce.Do(func() {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.reflect(c.ctx)
		}()
		if every := c.cfg.ConsistencyCheckInterval; every > 0 {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				c.consistencyLoop(c.ctx, every)
			}()
		}
		if every := c.cfg.CompactionPollInterval; every > 0 {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				c.compactionLoop(c.ctx, every)
			}()
		}
		if every := c.cfg.WarmSaveInterval; c.cfg.Warm != nil && every > 0 {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				c.saveLoop(c.ctx, every)
			}()
		}
	})
}

// Close stops the reflector, ends every open watcher (their Next returns
// io.EOF) and waits for the goroutines the Cacher started. It does not close
// the Store, which its owner closes. With Config.Warm, a cache that was
// ready saves its store last (warm.go).
func (c *Cacher) Close() {
	c.closeOnce.Do(func() {
		wasReady := c.Ready()
		c.ready.set(stateStopped, time.Now())
		c.revs.shutdown()
		close(c.stopCh)
		c.cancel()
		c.wake.closeAll()
		c.wg.Wait()
		if wasReady && c.cfg.Warm != nil {
			c.saveSnapshot()
		}
	})
}

// Resource describes the cached resource.
func (c *Cacher) Resource() *api.Resource { return c.res }

// Ready reports whether the cache serves from memory now.
func (c *Cacher) Ready() bool { return c.ready.is(stateReady) }

// WaitReady blocks until the cache is ready, ctx is done or the cacher is
// closed.
func (c *Cacher) WaitReady(ctx context.Context) error {
	for {
		st, changed := c.ready.get()
		switch st {
		case stateReady:
			return nil
		case stateStopped:
			return c.ready.notReadyError(time.Now())
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// RV is the highest etcd revision the cache has applied.
func (c *Cacher) RV() uint64 { return c.wc.RV() }

// Stats reports the cache's sizes, for metrics and tests.
func (c *Cacher) Stats() watchcache.Stats { return c.wc.Stats() }

// RevisionRequests is how many linearizable revision requests consistent
// reads have sent to etcd (B1 coalescing).
func (c *Cacher) RevisionRequests() uint64 { return c.revs.sent.Load() }

// now is the Cacher's clock.
func (c *Cacher) now() time.Time { return time.Now() }
