package cacher

import (
	"context"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/interval"
)

// Watch starts a watch served from the cache (B30-B36). Where it starts:
//
//	SIE=true (RVM NotOlderThan)  wait until fresh (RV "": etcd's revision;
//	                             n: n), ADDED for every object, then with
//	                             bookmarks allowed the initial-events-end
//	                             bookmark, then live events (B33)
//	SIE unset, RV "" or "0"      ADDED for every cached object, then live (B30)
//	SIE=false, RV ""             live events after etcd's current revision (B34)
//	RV n                         every event after n, then live (B31); 410 if
//	                             the history no longer holds n (B32)
//
// Errors found while starting (a revision not reached in time, an expired
// RV) are delivered by the first Next as the stream's ERROR event; invalid
// options and a cache that is not ready are returned here (B35, B36).
func (c *Cacher) Watch(ctx context.Context, opts api.WatchOptions) (api.Watcher, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if !c.Ready() {
		return nil, c.ready.notReadyError(c.now())
	}
	w := c.newWatcher(opts)
	if err := c.startWatcher(ctx, w, opts); err != nil {
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
func (c *Cacher) startWatcher(ctx context.Context, w *watcher, opts api.WatchOptions) error {
	sie := opts.SendInitialEvents != nil && *opts.SendInitialEvents
	var from uint64
	switch {
	case sie && opts.ResourceVersion == "":
		if _, err := c.waitFresh(ctx); err != nil {
			return err
		}
	case sie && opts.ResourceVersion != "0":
		rv, _ := api.ParseRV("resourceVersion", opts.ResourceVersion)
		if err := c.waitRV(ctx, rv); err != nil {
			return err
		}
	case opts.InitialEvents():
		// B30: the cache as it is (for RV "" we still try to be fresh, but
		// serve what we have if etcd is slow).
		if opts.ResourceVersion == "" {
			_, _ = c.waitFresh(ctx)
		}
	case opts.ResourceVersion == "":
		tctx, cancel := context.WithTimeout(ctx, c.cfg.FreshnessTimeout)
		rev, err := c.currentRevision(ctx, tctx)
		cancel()
		if err != nil {
			return err
		}
		from = rev
	case opts.ResourceVersion == "0":
		from = c.wc.RV()
	default:
		from, _ = api.ParseRV("resourceVersion", opts.ResourceVersion)
	}
	if opts.InitialEvents() {
		snap := c.wc.Latest()
		w.initial = interval.NewSnapshot(snap, w.prefix, opts.Predicate)
		w.endBookmark = sie && opts.AllowWatchBookmarks
		from = snap.RV()
	}
	iv, err := interval.New(c.wc, from)
	if err != nil {
		return err
	}
	w.live = iv
	w.sentRV = from
	return nil
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
