package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// CompactRevKey is the etcd key through which every compactor of one etcd
// cluster takes turns. It is kube-apiserver's key, with its value format
// (the decimal revision last recorded), so watchcached replicas and
// kube-apiserver sharing an etcd compact once per interval between them,
// not once each.
const CompactRevKey = "compact_rev_key"

// DefaultCompactionInterval is kube-apiserver's --etcd-compaction-interval.
const DefaultCompactionInterval = 5 * time.Minute

// CompactorConfig configures a Compactor.
type CompactorConfig struct {
	// Client is the etcd client (required). The Compactor does not close it.
	Client *clientv3.Client
	// Interval is the time between rounds (required, > 0). Each compaction
	// keeps the history written since the previous round: between one and
	// two intervals of it.
	Interval time.Duration
	// Logger receives one info line per compaction; nil means slog.Default().
	Logger *slog.Logger
	// Registerer, if set, gets the compactor's metrics.
	Registerer prometheus.Registerer
	// RequestTimeout bounds each etcd request of a round; default 10 s. A
	// round that times out is a failed round.
	RequestTimeout time.Duration
	// OnCompact, if set, is called after each compaction this compactor
	// performed, with the revision etcd compacted to (every revision below
	// it is gone). Calls are in increasing revision order, never
	// concurrent, from the goroutine running the round; it must return
	// quickly and must not call Round.
	OnCompact func(rev uint64)
}

// Validate checks the configuration.
func (c *CompactorConfig) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("etcdstore: CompactorConfig.Client is required")
	case c.Interval <= 0:
		return fmt.Errorf("etcdstore: compaction interval %v must be positive", c.Interval)
	case c.RequestTimeout < 0:
		return fmt.Errorf("etcdstore: compaction request timeout %v must not be negative", c.RequestTimeout)
	}
	return nil
}

// Compactor compacts etcd's history periodically, as kube-apiserver does:
// each round records etcd's current revision and compacts to the revision
// recorded one round earlier, so the last interval of history stays
// readable (watches resuming from it, exact lists, continue tokens).
//
// Compactors of one etcd coordinate through CompactRevKey: a round is a
// transaction that bumps the key only if its version is the one this
// compactor last saw. The winner compacts; a loser learns the key's
// version and tries again next round. So a cluster is compacted about
// once per interval whatever the number of replicas, and when the
// compactor that held the turn stops, another takes over within two
// intervals.
//
// Run and Round are safe for concurrent use; rounds never overlap.
type Compactor struct {
	client    *clientv3.Client
	interval  time.Duration
	timeout   time.Duration // per etcd request
	log       *slog.Logger
	onCompact func(rev uint64)
	metrics   *compactorMetrics

	mu sync.Mutex // serialises rounds; guards version and rev
	// version is CompactRevKey's version after this compactor's last
	// round (0: the key does not exist).
	version int64
	// rev is etcd's revision at the last round: the revision the next
	// round this compactor wins compacts to (0: none yet).
	rev int64

	last atomic.Uint64 // revision of the last compaction performed
}

// NewCompactor builds a Compactor; it does not contact etcd. Run starts it.
func NewCompactor(cfg CompactorConfig) (*Compactor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Compactor{client: cfg.Client, interval: cfg.Interval, timeout: cfg.RequestTimeout, log: cfg.Logger,
		onCompact: cfg.OnCompact, metrics: newCompactorMetrics(cfg.Registerer)}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.timeout == 0 {
		c.timeout = 10 * time.Second
	}
	return c, nil
}

// LastCompacted is the revision of the last compaction this compactor
// performed, 0 before the first. Safe to call at any time.
func (c *Compactor) LastCompacted() uint64 { return c.last.Load() }

// Run runs a round every interval, the first one interval after it is
// called (it only records the revision; the first compaction comes an
// interval later), until ctx is done. The caller owns the goroutine; Run
// returns when ctx is done. A failed round is logged and counted, and the
// next one comes an interval later.
func (c *Compactor) Run(ctx context.Context) {
	t := time.NewTimer(c.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := c.Round(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("etcd compaction failed", "err", err)
		}
		t.Reset(c.interval)
	}
}

// Round takes one turn: if no other compactor took a turn since this
// compactor's last round, it records etcd's current revision in
// CompactRevKey and compacts to the revision recorded by the previous
// round. It returns the revision compacted to, or 0 when it only recorded
// (the first round), another compactor had the turn, or etcd was already
// compacted beyond that revision. Run calls it every interval; tests and
// tools may call it directly.
func (c *Compactor) Round(ctx context.Context) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.client.Txn(tctx).
		If(clientv3.Compare(clientv3.Version(CompactRevKey), "=", c.version)).
		Then(clientv3.OpPut(CompactRevKey, strconv.FormatInt(c.rev, 10))).
		Else(clientv3.OpGet(CompactRevKey)).
		Commit()
	if err != nil {
		c.failed(ctx)
		return 0, fmt.Errorf("etcd compaction turn: %w", err)
	}
	target := c.rev
	c.rev = resp.Header.Revision
	if !resp.Succeeded {
		c.version = 0
		if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) == 1 {
			c.version = kvs[0].Version
			c.log.Debug("etcd compaction: another compactor had the turn", "recorded", string(kvs[0].Value))
		}
		return 0, nil
	}
	c.version++
	if target == 0 {
		return 0, nil
	}
	return c.compact(ctx, target)
}

// compact compacts etcd to rev and reports it. Called with c.mu held.
// Like kube-apiserver it does not wait for the physical compaction: once
// etcd answers, reads below rev fail with ErrCompacted, and etcd frees the
// space in the background.
func (c *Compactor) compact(ctx context.Context, rev int64) (uint64, error) {
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := c.client.Compact(tctx, rev)
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		c.log.Info("etcd already compacted beyond the recorded revision", "revision", rev)
		return 0, nil
	case err != nil:
		c.failed(ctx)
		return 0, fmt.Errorf("etcd compaction to revision %d: %w", rev, err)
	}
	c.last.Store(uint64(rev))
	c.metrics.compactions.Inc()
	c.metrics.revision.Set(float64(rev))
	c.log.Info("etcd compacted", "revision", rev, "current", c.rev, "took", time.Since(start).Round(time.Millisecond))
	if c.onCompact != nil {
		c.onCompact(uint64(rev))
	}
	return uint64(rev), nil
}

// failed counts a failed round, unless it failed because ctx ended.
func (c *Compactor) failed(ctx context.Context) {
	if ctx.Err() == nil {
		c.metrics.failures.Inc()
	}
}
