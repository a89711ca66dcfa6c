package cacher

import (
	"context"
	"time"
)

// What the cache knows of etcd's compaction. etcd answers no read below its
// compacted revision, and neither does the cache: an exact list or a
// continue page below it gets etcd's 410 Expired, and the snapshots only
// such reads needed are freed. The cache learns the compacted revision from
// the compactions this process performs (ObserveCompaction, called by the
// daemon's compactor), from etcd's answers that say a revision is compacted,
// and by asking etcd every CompactionPollInterval (one small request while
// nothing changed), so a compaction by anybody else is learned too.
//
// Watches are not affected: a watch from an RV the ring still holds is
// served from the ring, as kube-apiserver's cache does.

// ObserveCompaction tells the cache that etcd compacted its history at rev:
// revisions below rev can no longer be read. Safe for concurrent use; the
// reflector frees the snapshots at its next step.
func (c *Cacher) ObserveCompaction(rev uint64) {
	for {
		old := c.compacted.Load()
		if rev <= old {
			return
		}
		if c.compacted.CompareAndSwap(old, rev) {
			break
		}
	}
	c.m.compacted.Set(float64(rev))
	select {
	case c.compactCh <- struct{}{}:
	default: // one is pending already; it reads the latest value
	}
}

// CompactedRV is etcd's compacted revision as the cache last learned it (0:
// none known).
func (c *Cacher) CompactedRV() uint64 { return c.compacted.Load() }

// belowCompaction reports whether rv can no longer be read from etcd.
func (c *Cacher) belowCompaction(rv uint64) bool { return rv < c.compacted.Load() }

// applyCompaction frees the past states below the compacted revision. Only
// the reflector goroutine (the watch cache's single writer) calls it.
func (c *Cacher) applyCompaction() {
	c.wc.Compact(c.compacted.Load())
	c.m.observeStats(c.wc.Stats())
}

// compactionLoop asks etcd for its compacted revision every interval until
// ctx ends.
func (c *Cacher) compactionLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.pollCompaction(ctx)
		case <-ctx.Done():
			return
		}
	}
}

// pollCompaction asks etcd once, bounded by the freshness timeout.
func (c *Cacher) pollCompaction(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.FreshnessTimeout)
	defer cancel()
	rev, err := c.store.CompactRevision(ctx, c.compacted.Load())
	if err != nil {
		c.log.Debug("asking etcd for its compacted revision failed", "err", err)
		return
	}
	c.ObserveCompaction(rev)
}
