package cacher

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/watchcached/watchcached/api"
)

// Warm restart (docs/scaling.md, "Warm restart"): with Config.Warm set, the
// cache saves its store at its revision R every Config.WarmSaveInterval and
// at Close, and its first fill loads the saved store and watches the source
// from R instead of listing it. The file format and its checks are the
// WarmStore's (internal/snapshot); the cache decides only when to load and
// save, and checks what it loaded against the source:
//
//   - the source cannot be asked (etcd unreachable): the fill fails and is
//     retried after a back-off with the snapshot already loaded;
//   - Load fails (no file, truncated, corrupt, another version, another
//     resource configuration, another etcd cluster): list, as a cold start;
//   - R is ahead of the source's current revision (the source was wiped and
//     recreated): list;
//   - the source compacted past R (the watch could not start from R): list;
//   - otherwise the loaded store is installed at R, the cache is ready, the
//     watch starts from R+1, and one consistency check runs at once, range
//     by range (rangecheck.go); if it finds a difference, the cache relists.
//
// Every cold start logs one line, "cache starting cold", with the reason.

// WarmStore keeps a cache's store between runs. Implementations need not
// be safe for concurrent use: the cache calls Load once, from the
// reflector before anything else, and never runs two Saves at once.
type WarmStore interface {
	// Load returns the saved objects, in key order, and the revision they
	// show; its error is the one-line reason a cold start logs.
	Load(ctx context.Context) ([]*api.Object, uint64, error)
	// Save replaces the saved store with n objects, in key order, at
	// revision rv; a failed Save must leave the previous one loadable.
	Save(rv uint64, n int, objs iter.Seq[*api.Object]) error
}

// DefaultWarmSaveInterval is Config.WarmSaveInterval's default.
const DefaultWarmSaveInterval = time.Minute

// warmState is the cache's warm-restart bookkeeping.
type warmState struct {
	tried  bool // reflector only: the snapshot was used or given up
	filled bool // reflector only: a fill succeeded (later ones are relists)
	// loaded holds what Load returned while the source could not yet be
	// asked about its revision (reflector only): the next fill tries again
	// without reading the file again.
	loaded   []*api.Object
	loadedRV uint64
	isLoaded bool

	saveMu  sync.Mutex // serializes Saves
	savedRV uint64     // guarded by saveMu: the revision last saved
}

// errSourceUnknown marks a warm start that could not ask the source about
// the snapshot's revision (etcd unreachable): the fill fails and is
// retried with the same snapshot, rather than given up for a list that
// would fail too.
var errSourceUnknown = errors.New("source unreachable")

// fill makes the cache hold the source's state at some revision: from the
// WarmStore on the first call when one is configured and usable, else by
// listing. warm reports which.
func (c *Cacher) fill(ctx context.Context) (warm bool, err error) {
	if c.cfg.Warm != nil && !c.warm.tried {
		err := c.warmStart(ctx)
		switch {
		case err == nil:
			c.warm.tried, c.warm.filled = true, true
			c.m.starts.WithLabelValues("warm").Inc()
			return true, nil
		case ctx.Err() != nil:
			return false, ctx.Err()
		case errors.Is(err, errSourceUnknown):
			return false, err
		}
		c.warm.tried = true
		c.log.Info("cache starting cold", "reason", err.Error())
	}
	if err := c.listAndReplace(ctx); err != nil {
		return false, err
	}
	if !c.warm.filled {
		c.warm.filled = true
		c.m.starts.WithLabelValues("cold").Inc()
	}
	return false, nil
}

// warmStart loads the WarmStore (once) and installs it if the source can
// be watched from its revision.
func (c *Cacher) warmStart(ctx context.Context) error {
	start := time.Now()
	if !c.warm.isLoaded {
		objs, rv, err := c.cfg.Warm.Load(ctx)
		if err != nil {
			return err
		}
		c.warm.loaded, c.warm.loadedRV, c.warm.isLoaded = objs, rv, true
	}
	objs, rv := c.warm.loaded, c.warm.loadedRV
	if err := c.watchableFrom(ctx, rv); err != nil {
		if !errors.Is(err, errSourceUnknown) {
			c.warm.loaded = nil
		}
		return err
	}
	c.warm.loaded = nil
	c.wc.Replace(objs, rv, time.Now())
	c.wake.closeAll()
	c.m.observeStats(c.wc.Stats())
	c.m.setRV(rv)
	c.warm.saveMu.Lock()
	c.warm.savedRV = rv
	c.warm.saveMu.Unlock()
	c.log.Info("cache started warm", "objects", len(objs), "rv", rv, "took", time.Since(start))
	return nil
}

// watchableFrom checks that the source can be watched from rv+1 with
// nothing missed: rv is not ahead of the source (a source recreated from
// nothing) and not compacted.
func (c *Cacher) watchableFrom(ctx context.Context, rv uint64) error {
	cur, err := c.store.CurrentRevision(ctx)
	if err != nil {
		return fmt.Errorf("%w: current revision: %v", errSourceUnknown, err)
	}
	if rv > cur {
		return fmt.Errorf("snapshot at revision %d is ahead of the source's revision %d", rv, cur)
	}
	compacted, err := c.store.Compacted(ctx, rv)
	switch {
	case err != nil:
		return fmt.Errorf("%w: whether revision %d was compacted: %v", errSourceUnknown, rv, err)
	case compacted:
		return fmt.Errorf("snapshot at revision %d was compacted in etcd", rv)
	}
	return nil
}

// checkAfterWarm is the consistency check right after a warm start
// (rangecheck.go): a difference relists.
func (c *Cacher) checkAfterWarm(ctx context.Context) {
	if err := c.checkAfterWarmStart(ctx); err != nil {
		c.log.Error("consistency check after warm start failed; relisting", "err", err)
		c.m.inconsistencies.Inc()
		c.requestRelist()
	}
	c.warmChecked.Add(1)
}

// saveLoop saves the store every interval until ctx ends.
func (c *Cacher) saveLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.Ready() {
				c.saveSnapshot()
			}
		}
	}
}

// saveSnapshot saves the latest state unless it was saved already. The
// snapshot is immutable: no lock of the cache is held while writing.
func (c *Cacher) saveSnapshot() {
	c.warm.saveMu.Lock()
	defer c.warm.saveMu.Unlock()
	snap := c.wc.Latest()
	rv := snap.RV()
	if rv == 0 || rv == c.warm.savedRV {
		return
	}
	start := time.Now()
	err := c.cfg.Warm.Save(rv, snap.Len(), func(yield func(*api.Object) bool) {
		snap.Ascend(c.prefix, "", yield)
	})
	if err != nil {
		c.m.snapshotWrites.WithLabelValues("error").Inc()
		c.log.Warn("cache snapshot not saved", "rv", rv, "err", err)
		return
	}
	c.m.snapshotWrites.WithLabelValues("ok").Inc()
	c.warm.savedRV = rv
	c.log.Debug("cache snapshot saved", "rv", rv, "objects", snap.Len(), "took", time.Since(start))
}

// Lists is how many times the cache listed its source (the initial list
// and every relist; 0 after a warm start).
func (c *Cacher) Lists() uint64 { return c.lists.Load() }

// WarmChecks is how many consistency checks after a warm start finished.
func (c *Cacher) WarmChecks() uint64 { return c.warmChecked.Load() }
