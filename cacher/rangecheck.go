package cacher

import (
	"context"
	"errors"
	"fmt"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
)

// The check right after a warm start (B237-B239, docs/scaling.md) asks
// etcd for far less than the periodic check (consistency.go), which lists
// every key: the snapshot's keys are split, in key order, into ranges of
// Config.WarmCheckRangeKeys keys (the first range starts at the
// resource's prefix, the last reaches its end, so keys etcd holds before
// or after the snapshot's are in a range too), and etcd tells each
// range's key count and highest mod revision at the snapshot's revision
// (SummarizeRanges: a few small requests for the whole resource). Only a
// range whose two numbers differ from the snapshot's is listed,
// keys-first and then decoded as the periodic check does, to name the
// differences. Equal numbers prove a range equal unless it lost both a
// create and a delete, or an update that is not its newest write; the
// periodic check, which compares every key, catches those later.

// DefaultWarmCheckRangeKeys is Config.WarmCheckRangeKeys's default.
const DefaultWarmCheckRangeKeys = 1000

// maxDiffs is how many differences a failed check names.
const maxDiffs = 10

// rangeChecker is what a source offers for the check after a warm start
// (etcdstore.Store): key ranges summarized at one revision, and one
// range's keys and decoded objects there. A source without it (an API
// server, upstream.Source) is checked as the periodic check does.
type rangeChecker interface {
	SummarizeRanges(ctx context.Context, rev uint64, ranges []api.KeyRange) ([]api.RangeSummary, error)
	ListKeyRevisionsIn(ctx context.Context, rev uint64, r api.KeyRange) ([]api.KeyRevision, error)
	ListIn(ctx context.Context, rev uint64, r api.KeyRange) ([]*api.Object, error)
}

// checkAfterWarmStart compares the cache with etcd range by range (see
// above). It returns nil when they agree or when there is nothing to
// compare against (not ready; no answer from etcd, which it logs as a
// skipped check), and a description of the first differences otherwise.
// Called from its own goroutine; it reads only an immutable snapshot.
func (c *Cacher) checkAfterWarmStart(ctx context.Context) error {
	rc, ok := c.store.(rangeChecker)
	if !ok {
		return c.checkConsistency(ctx)
	}
	if !c.Ready() {
		return nil
	}
	snap := c.wc.Latest()
	rv := snap.RV()
	ranges, want := splitSnapshot(snap, c.prefix, c.cfg.WarmCheckRangeKeys)
	got, err := rc.SummarizeRanges(ctx, rv, ranges)
	switch {
	case errors.Is(err, api.ErrTooLargeRV):
		return fmt.Errorf("cache revision %d is ahead of etcd: %v", rv, err)
	case err != nil: // etcd unavailable or compacted: nothing to compare against
		c.log.Warn("consistency check after warm start skipped", "rv", rv, "err", err)
		return nil
	}
	var diffs []string
	differing := 0 // ranges listed
	for i, r := range ranges {
		if got[i] == want[i] {
			continue
		}
		differing++
		d, err := c.diffRange(ctx, rc, snap, r)
		if err != nil { // etcd went away or compacted rv meanwhile
			c.log.Warn("consistency check after warm start skipped", "rv", rv, "err", err)
			return nil
		}
		if diffs = append(diffs, d...); len(diffs) >= maxDiffs {
			diffs = diffs[:maxDiffs]
			break
		}
	}
	if diffs != nil {
		return fmt.Errorf("cache differs from etcd at revision %d: %v", rv, diffs)
	}
	c.log.Info("consistency check after warm start passed", "rv", rv, "ranges", len(ranges), "listed", differing)
	return nil
}

// diffRange names the differences in r: keys and mod revisions first, and
// only if they differ, decoded objects (a key whose value does not decode
// is in etcd's keys but never in the cache).
func (c *Cacher) diffRange(ctx context.Context, rc rangeChecker, snap *watchcache.Snapshot, r api.KeyRange) ([]string, error) {
	keys, err := rc.ListKeyRevisionsIn(ctx, snap.RV(), r)
	if err != nil {
		return nil, err
	}
	if compareRange(snap, c.prefix, r, keys) == nil {
		return nil, nil
	}
	objs, err := rc.ListIn(ctx, snap.RV(), r)
	if err != nil {
		return nil, err
	}
	keys = keys[:0]
	for _, o := range objs {
		keys = append(keys, api.KeyRevision{Key: o.Key, RV: o.RV})
	}
	return compareRange(snap, c.prefix, r, keys), nil
}

// splitSnapshot splits the snapshot's objects under prefix, in key order,
// into ranges of per objects (the last may hold fewer; an empty snapshot
// is one empty range) and summarizes each as etcd would. The ranges cover
// the whole prefix: the first begins at prefix, each next one at its first
// object's key, and the last has End "".
func splitSnapshot(snap *watchcache.Snapshot, prefix string, per int) ([]api.KeyRange, []api.RangeSummary) {
	ranges := []api.KeyRange{{Begin: prefix}}
	sums := []api.RangeSummary{{}}
	snap.Ascend(prefix, "", func(o *api.Object) bool {
		last := &sums[len(sums)-1]
		if last.Count == int64(per) {
			ranges[len(ranges)-1].End = o.Key
			ranges = append(ranges, api.KeyRange{Begin: o.Key})
			sums = append(sums, api.RangeSummary{})
			last = &sums[len(sums)-1]
		}
		last.Count++
		last.MaxRV = max(last.MaxRV, o.RV)
		return true
	})
	return ranges, sums
}
