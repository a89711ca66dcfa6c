package cacher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watchcached/watchcached/api"
)

// The periodic consistency check (B65) compares the cache with etcd at one
// revision: it reads etcd exactly at a revision the cache holds a snapshot
// for, and compares keys and resourceVersions (objects are equal when their
// mod revisions are, since a value only changes with its revision). On a
// mismatch it logs what differs, counts it, and makes the reflector relist,
// which drops every snapshot and expires open watchers rather than keep
// serving a state etcd never had.

// checkConsistency runs one check. It returns nil when the cache and etcd
// agree (or when there is nothing to compare yet), and a description of the
// first differences otherwise.
func (c *Cacher) checkConsistency(ctx context.Context) error {
	if !c.Ready() {
		return nil
	}
	snap := c.wc.Latest()
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
	var diffs []string
	i := 0
	snap.Ascend(c.prefix, "", func(o *api.Object) bool {
		for i < len(etcdList.Items) && etcdList.Items[i].Key < o.Key {
			diffs = append(diffs, "missing in cache: "+etcdList.Items[i].Key)
			i++
		}
		switch {
		case i < len(etcdList.Items) && etcdList.Items[i].Key == o.Key:
			if etcdList.Items[i].RV != o.RV {
				diffs = append(diffs, fmt.Sprintf("%s: cache RV %d, etcd RV %d", o.Key, o.RV, etcdList.Items[i].RV))
			}
			i++
		default:
			diffs = append(diffs, "not in etcd: "+o.Key)
		}
		return len(diffs) < 10
	})
	for ; i < len(etcdList.Items) && len(diffs) < 10; i++ {
		diffs = append(diffs, "missing in cache: "+etcdList.Items[i].Key)
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("cache differs from etcd at revision %d: %v", rv, diffs)
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
