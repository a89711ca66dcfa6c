package cacher

import (
	"context"
	"errors"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
)

// List answers from a snapshot of the cache (B10-B26), choosing it by the
// options:
//
//	continue token rv>0        the snapshot at the token's RV (B14)
//	continue token rv=-1       consistent read, from the token's key (B23)
//	RV ""                      consistent read (B10)
//	RV "0"                     the cache as it is, limit honoured (B11)
//	RVM Exact, or limit + RV n the snapshot exactly at n (B13)
//	RV n (NotOlderThan)        the cache once it reached n (B12)
//
// It delegates to etcd where docs/behaviours.md says so: a snapshot older than every
// one kept, a consistent read that cannot catch up in time, and a limited
// list without selectors while the cache is not ready.
func (c *Cacher) List(ctx context.Context, opts api.ListOptions) (*api.List, error) {
	return c.list(ctx, opts, false)
}

// StreamList is List, except that an unlimited list from a snapshot comes
// as a Seq walking that snapshot (api.StreamLister): no item slice is
// built, and the list pins only its snapshot.
func (c *Cacher) StreamList(ctx context.Context, opts api.ListOptions) (*api.List, error) {
	return c.list(ctx, opts, true)
}

// list is List; stream lets an unlimited list from a snapshot be a Seq.
func (c *Cacher) list(ctx context.Context, opts api.ListOptions, stream bool) (*api.List, error) {
	rv, err := opts.Parse()
	if err != nil {
		return nil, err
	}
	if !c.Ready() {
		if opts.Limit > 0 && opts.Predicate.Empty() {
			return c.delegateList(ctx, opts, "not-ready")
		}
		return nil, c.ready.notReadyError(c.now())
	}
	if opts.Continue != "" {
		return c.listContinue(ctx, opts, stream)
	}
	switch rv.Kind {
	case api.RVConsistent:
		if _, err := c.waitFresh(ctx); err != nil {
			return c.freshnessFallback(ctx, opts, err)
		}
		return c.listSnapshot(c.wc.Latest(), 0, opts, "", stream), nil
	case api.RVAny:
		return c.listSnapshot(c.wc.Latest(), 0, opts, "", stream), nil
	}
	if err := c.waitRV(ctx, rv.N); err != nil {
		return nil, err
	}
	if rv.Kind != api.RVExact {
		return c.listSnapshot(c.wc.Latest(), 0, opts, "", stream), nil
	}
	if c.belowCompaction(rv.N) {
		return c.delegateList(ctx, opts, "compacted")
	}
	snap, err := c.wc.Snapshot(rv.N)
	if errors.Is(err, api.ErrExpired) {
		return c.delegateList(ctx, opts, "snapshot-gone")
	}
	if err != nil {
		return nil, err
	}
	return c.listSnapshot(snap, rv.N, opts, "", stream), nil
}

// listContinue serves the next page of a paginated list (B14, B23).
func (c *Cacher) listContinue(ctx context.Context, opts api.ListOptions, stream bool) (*api.List, error) {
	rv, start, err := api.DecodeContinue(opts.Continue)
	if err != nil {
		return nil, err
	}
	if rv == -1 {
		if _, err := c.waitFresh(ctx); err != nil {
			return c.freshnessFallback(ctx, opts, err)
		}
		return c.listSnapshot(c.wc.Latest(), 0, opts, start, stream), nil
	}
	if uint64(rv) > c.wc.RV() {
		if err := c.waitRV(ctx, uint64(rv)); err != nil {
			return nil, err
		}
	}
	if c.belowCompaction(uint64(rv)) {
		return c.delegateList(ctx, opts, "compacted")
	}
	snap, err := c.wc.Snapshot(uint64(rv))
	if errors.Is(err, api.ErrExpired) {
		return c.delegateList(ctx, opts, "snapshot-gone")
	}
	if err != nil {
		return nil, err
	}
	// The cache may still hold a state etcd has compacted away. Such a token
	// gets etcd's 410 with a replacement token (B23), as it would from any
	// replica, rather than a page only this cache can still give. If etcd
	// cannot be asked, the snapshot is served: it is a real, consistent state.
	if compacted, err := c.store.Compacted(ctx, uint64(rv)); err == nil && compacted {
		c.ObserveCompaction(uint64(rv) + 1)
		return c.delegateList(ctx, opts, "compacted")
	}
	return c.listSnapshot(snap, uint64(rv), opts, start, stream), nil
}

// freshnessFallback answers a consistent list from etcd when the cache did
// not catch up in time (fallsBackToEtcd); a caller that went away, or a
// read etcd could not even tell its revision to, just gets its error.
func (c *Cacher) freshnessFallback(ctx context.Context, opts api.ListOptions, err error) (*api.List, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if !fallsBackToEtcd(err) {
		return nil, err
	}
	return c.delegateList(ctx, opts, "freshness-timeout")
}

func (c *Cacher) delegateList(ctx context.Context, opts api.ListOptions, why string) (*api.List, error) {
	c.m.delegated.WithLabelValues("list", why).Inc()
	return c.store.List(ctx, opts)
}

// listSnapshot collects one page from snap. listRV is the RV the list shows
// (0: the snapshot's own). start is a continue token's start key, relative
// to the list's own prefix (the namespace's for a namespaced list). Items come in key order; continue is set when a
// key remains after the last one examined (B21, B22); remainingItemCount
// only without selectors. stream makes an unlimited list a Seq over snap
// (StreamList).
func (c *Cacher) listSnapshot(snap *watchcache.Snapshot, listRV uint64, opts api.ListOptions, start string, stream bool) *api.List {
	if listRV == 0 {
		listRV = snap.RV()
	}
	prefix := c.res.NamespacePrefix(c.etcdPrefix, opts.Namespace)
	startKey := ""
	if start != "" {
		startKey = api.ContinueStartKey(prefix, start)
	}
	limit := int(opts.Limit)
	if stream && limit <= 0 {
		return &api.List{RV: listRV, Seq: func(yield func(*api.Object) bool) {
			c.walk(snap, opts.Predicate, prefix, startKey, func(o *api.Object) bool {
				return !opts.Predicate.Matches(o) || yield(o)
			})
		}}
	}
	items := make([]*api.Object, 0, initialCap(limit, snap.Len(), prefix == c.prefix && opts.Predicate.Empty()))
	var lastKey string
	more := false
	visit := func(o *api.Object) bool {
		if limit > 0 && len(items) == limit {
			more = true
			return false
		}
		if opts.Predicate.Matches(o) {
			items = append(items, o)
			lastKey = o.Key
		}
		return true
	}
	c.walk(snap, opts.Predicate, prefix, startKey, visit)
	l := &api.List{Items: items, RV: listRV}
	if more {
		next := lastKey + "\x00"
		l.Continue = api.EncodeContinueKey(int64(listRV), next, prefix)
		if opts.Predicate.Empty() {
			n := int64(snap.CountFrom(prefix, next))
			l.RemainingItemCount = &n
		}
	}
	return l
}

// walk visits snap's objects under prefix from startKey in key order until
// visit returns false: through an index the predicate pins (B25) when
// there is one, else every object; visit still has to match each one.
func (c *Cacher) walk(snap *watchcache.Snapshot, p api.Predicate, prefix, startKey string, visit func(*api.Object) bool) {
	if field, value, ok := c.indexFor(p); !ok || !snap.AscendIndex(field, value, prefix, startKey, visit) {
		snap.Ascend(prefix, startKey, visit)
	}
}

// indexFor picks an indexed field the predicate pins to one value (B25).
func (c *Cacher) indexFor(p api.Predicate) (field, value string, ok bool) {
	for _, f := range c.res.IndexedFields {
		if v, ok := p.ExactField(f); ok {
			return f, v, true
		}
	}
	return "", "", false
}

// initialCap sizes a page's item slice: the limit if any (capped by the
// store's n objects), else n when every object is listed (whole), else
// nothing up front: a namespace or a selector may match a handful of a
// large store's objects.
func initialCap(limit, n int, whole bool) int {
	switch {
	case limit > 0:
		return min(limit, n)
	case whole:
		return n
	}
	return 0
}
