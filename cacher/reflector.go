package cacher

import (
	"context"
	"errors"
	"time"

	"github.com/watchcached/watchcached/api"
)

// reflect is the reflector goroutine, the single writer of c.wc: list, then
// watch from the list's revision, until ctx ends (B60, B61).
//
// A watch that breaks for any reason but compaction is resumed from the last
// applied revision, so the ring stays continuous and open watchers carry on.
// A compacted watch (or a failed resume) relists: Replace expires every open
// interval, so their watchers end with 410 rather than see a gap.
func (c *Cacher) reflect(ctx context.Context) {
	backoff := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		if err := c.listAndReplace(ctx); err != nil {
			c.setNotReady()
			c.log.Warn("cache list failed", "err", err)
			backoff.wait(ctx)
			continue
		}
		backoff.reset()
		c.ready.set(stateReady, time.Now())
		c.wake.closeAll()
		for ctx.Err() == nil {
			err := c.watchUntilBroken(ctx)
			if err == nil || ctx.Err() != nil {
				return
			}
			if errors.Is(err, api.ErrExpired) {
				c.log.Info("cache watch compacted; relisting", "err", err)
				c.setNotReady()
				c.m.relists.Inc()
				break
			}
			c.log.Warn("cache watch broken; resuming", "rv", c.wc.RV(), "err", err)
			backoff.wait(ctx)
		}
	}
}

func (c *Cacher) setNotReady() {
	if c.ready.is(stateReady) {
		c.ready.set(statePending, time.Now())
	}
}

// listAndReplace reads every object at one revision and installs them.
func (c *Cacher) listAndReplace(ctx context.Context) error {
	start := time.Now()
	objs, rv, err := c.store.ListAll(ctx, c.cfg.ListPageSize)
	if err != nil {
		return err
	}
	c.wc.Replace(objs, rv, time.Now())
	c.wake.closeAll()
	c.m.observeStats(c.wc.Stats())
	c.m.cacheRV.Set(float64(rv))
	c.log.Info("cache listed", "objects", len(objs), "rv", rv, "took", time.Since(start))
	return nil
}

// watchUntilBroken applies one etcd watch stream from the cache's revision
// until it ends. It returns nil only when ctx ended.
func (c *Cacher) watchUntilBroken(ctx context.Context) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := c.store.WatchEvents(wctx, c.wc.RV()+1)
	ticker := time.NewTicker(c.cfg.ProgressInterval)
	defer ticker.Stop()
	for {
		select {
		case res, ok := <-results:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("cacher: etcd watch closed")
			}
			if res.Err != nil {
				return res.Err
			}
			if err := c.apply(res.Events, res.Progress); err != nil {
				return err
			}
		case <-c.relist:
			return api.Errorf(api.ErrExpired, "cacher: relist requested by the consistency check")
		case <-ticker.C:
			if err := c.store.RequestProgress(ctx); err != nil && ctx.Err() == nil {
				c.log.Debug("progress request failed", "err", err)
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// apply installs one watch response: events in order, then the progress
// revision. An event at or below the cache RV is a duplicate after a resume
// and is dropped; anything else out of order is an inconsistency that makes
// the reflector relist.
func (c *Cacher) apply(events []*api.Event, progress uint64) error {
	now := time.Now()
	rv := c.wc.RV() // the reflector is the only writer: read it once
	for _, ev := range events {
		if ev.RV <= rv {
			continue
		}
		if err := c.wc.Append(ev, now); err != nil {
			return api.Errorf(api.ErrExpired, "cacher: cannot apply event at %d: %v", ev.RV, err)
		}
		rv = ev.RV
		c.wake.event(ev)
		c.m.eventsApplied.Inc()
	}
	if progress > rv {
		c.wc.Progress(progress)
		rv = progress
	}
	c.m.cacheRV.Set(float64(rv))
	if len(events) > 0 {
		c.m.observeStats(c.wc.Stats())
	}
	return nil
}

// backoff is a capped exponential delay for retries of the reflector.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max, cur: min} }

func (b *backoff) reset() { b.cur = b.min }

func (b *backoff) wait(ctx context.Context) {
	t := time.NewTimer(b.cur)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	b.cur = min(2*b.cur, b.max)
}
