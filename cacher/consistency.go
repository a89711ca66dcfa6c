package cacher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
)

// The periodic consistency check (B65) compares the cache with etcd at one
// revision: it reads etcd exactly at a revision the cache holds a snapshot
// for, and compares keys and resourceVersions (objects are equal when their
// mod revisions are, since a value only changes with its revision). On a
// mismatch it logs what differs, counts it, and makes the reflector relist,
// which drops every snapshot and expires open watchers rather than keep
// serving a state etcd never had.

// keyRevisionLister is what a source offers to compare without reading
// values (etcdstore.Store.ListKeyRevisions).
type keyRevisionLister interface {
	ListKeyRevisions(ctx context.Context, rev uint64) ([]api.KeyRevision, error)
}

// checkConsistency runs one check. It returns nil when the cache and etcd
// agree (or when there is nothing to compare yet), and a description of the
// first differences otherwise. A source that lists keys and revisions
// without values is compared that way first; only a difference found so is
// confirmed by the full comparison, which decodes values as the cache did
// (a value that does not decode is in etcd's keys but never in the cache).
func (c *Cacher) checkConsistency(ctx context.Context) error {
	if !c.Ready() {
		return nil
	}
	snap := c.wc.Latest()
	if kl, ok := c.store.(keyRevisionLister); ok {
		keys, err := kl.ListKeyRevisions(ctx, snap.RV())
		if err == nil && compareSnapshot(snap, c.prefix, keys) == nil {
			return nil
		}
	}
	rv := snap.RV()
	etcdList, err := c.store.List(ctx, api.ListOptions{
		ResourceVersion: api.FormatRV(rv), ResourceVersionMatch: api.MatchExact,
	})
	switch {
	case errors.Is(err, api.ErrTooLargeRV):
		// Every revision the cache holds came from etcd: etcd cannot be behind it.
		return fmt.Errorf("cache revision %d is ahead of etcd: %v", rv, err)
	case err != nil:
		return nil // etcd unavailable or compacted: nothing to compare against
	}
	keys := make([]api.KeyRevision, len(etcdList.Items))
	for i, o := range etcdList.Items {
		keys[i] = api.KeyRevision{Key: o.Key, RV: o.RV}
	}
	if diffs := compareSnapshot(snap, c.prefix, keys); diffs != nil {
		return fmt.Errorf("cache differs from etcd at revision %d: %v", rv, diffs)
	}
	return nil
}

// compareSnapshot lists the first differences (at most maxDiffs) between
// the snapshot's objects under prefix and etcd's keys, both in key order;
// nil when they agree.
func compareSnapshot(snap *watchcache.Snapshot, prefix string, etcd []api.KeyRevision) []string {
	return compareRange(snap, prefix, api.KeyRange{Begin: prefix}, etcd)
}

// compareRange is compareSnapshot of the keys in r only (End "": to the
// end of prefix); etcd holds the keys in r.
func compareRange(snap *watchcache.Snapshot, prefix string, r api.KeyRange, etcd []api.KeyRevision) []string {
	var diffs []string
	i := 0
	snap.Ascend(prefix, r.Begin, func(o *api.Object) bool {
		if r.End != "" && o.Key >= r.End {
			return false
		}
		for i < len(etcd) && etcd[i].Key < o.Key {
			diffs = append(diffs, "missing in cache: "+etcd[i].Key)
			i++
		}
		switch {
		case i < len(etcd) && etcd[i].Key == o.Key:
			if etcd[i].RV != o.RV {
				diffs = append(diffs, fmt.Sprintf("%s: cache RV %d, etcd RV %d", o.Key, o.RV, etcd[i].RV))
			}
			i++
		default:
			diffs = append(diffs, "not in etcd: "+o.Key)
		}
		return len(diffs) < maxDiffs
	})
	for ; i < len(etcd) && len(diffs) < maxDiffs; i++ {
		diffs = append(diffs, "missing in cache: "+etcd[i].Key)
	}
	return diffs
}

// consistencyLoop runs checks every interval until ctx ends; a failed check
// asks the reflector to relist.
func (c *Cacher) consistencyLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.checkConsistency(ctx); err != nil {
			c.log.Error("consistency check failed; relisting", "err", err)
			c.m.inconsistencies.Inc()
			c.requestRelist()
		}
	}
}

// requestRelist asks the reflector to relist (once, however often asked
// before it does).
func (c *Cacher) requestRelist() {
	select {
	case c.relist <- struct{}{}:
	default: // a relist is already requested
	}
}
