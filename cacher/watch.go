package cacher

import (
	"context"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/interval"
)

// Watch starts a watch served from the cache (B30-B36), where
// api.WatchOptions.Parse says (api.WatchStart): the initial state, waited
// for as its RV asks (etcd's current revision, or not older than n) and
// walked as ADDED events, then the events after it; or the events after
// etcd's current revision, the cache's, or n (410 if the history no longer
// holds n, B32).
//
// Errors found while starting (a revision not reached in time, an expired
// RV) are delivered by the first Next as the stream's ERROR event; invalid
// options and a cache that is not ready are returned here (B35, B36).
func (c *Cacher) Watch(ctx context.Context, opts api.WatchOptions) (api.Watcher, error) {
	start, err := opts.Parse()
	if err != nil {
		return nil, err
	}
	if !c.Ready() {
		return nil, c.ready.notReadyError(c.now())
	}
	w := c.newWatcher(opts)
	if err := c.startWatcher(ctx, w, start, opts.Predicate); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		w.err = err
	}
	if w.wakeBy != "" {
		c.wake.add(w.wakeBy, w.wakeVal)
	}
	c.m.watchers.Inc()
	return w, nil
}

// startWatcher positions w: an initial snapshot walk and/or the interval it
// follows afterwards.
func (c *Cacher) startWatcher(ctx context.Context, w *watcher, start api.WatchStart, pred api.Predicate) error {
	from, err := c.startRV(ctx, start)
	if err != nil {
		return err
	}
	if start.Initial {
		snap := c.wc.Latest()
		w.initial = interval.NewSnapshot(snap, w.prefix, pred)
		w.endBookmark = start.EndBookmark
		from = snap.RV()
	}
	iv, err := interval.NewUnder(c.wc, from, w.prefix)
	if err != nil {
		return err
	}
	w.live = iv
	w.sentRV = from
	return nil
}

// startRV waits for the state an initial walk needs, or returns the
// revision the events follow.
func (c *Cacher) startRV(ctx context.Context, start api.WatchStart) (uint64, error) {
	switch {
	case start.Initial && start.RV.Kind == api.RVConsistent:
		_, err := c.waitFresh(ctx)
		if start.BestEffort { // B30: serve what the cache has if etcd is slow
			err = nil
		}
		return 0, err
	case start.Initial && start.RV.Kind == api.RVNotOlderThan:
		return 0, c.waitRV(ctx, start.RV.N)
	case start.Initial:
		return 0, nil
	}
	switch start.RV.Kind {
	case api.RVConsistent:
		tctx, cancel := context.WithTimeout(ctx, c.cfg.FreshnessTimeout)
		defer cancel()
		return c.currentRevision(ctx, tctx)
	case api.RVAny:
		return c.wc.RV(), nil
	default:
		return start.RV.N, nil
	}
}

// wakeKeyFor picks the narrowest tracked field the watch pins to one value.
func (c *Cacher) wakeKeyFor(opts api.WatchOptions) (string, string) {
	if v, ok := opts.Predicate.ExactField("metadata.name"); ok {
		return "metadata.name", v
	}
	for _, f := range c.res.IndexedFields {
		if v, ok := opts.Predicate.ExactField(f); ok && c.wake.tracks(f) {
			return f, v
		}
	}
	if c.res.Namespaced && opts.Namespace != "" {
		return "metadata.namespace", opts.Namespace
	}
	if v, ok := opts.Predicate.ExactField("metadata.namespace"); ok {
		return "metadata.namespace", v
	}
	return "", ""
}
