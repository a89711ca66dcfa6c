package cacher

import (
	"context"
	"errors"
	"math"
	"runtime/debug"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/watchcached/watchcached/api"
)

// reflect is the reflector goroutine, the single writer of c.wc: list, then
// watch from the list's revision, until ctx ends (B60, B61).
//
// A watch that breaks for any reason but compaction is resumed from the last
// applied revision, so the ring stays continuous and open watchers carry on.
// A compacted watch, an event without its previous value, or anything the
// cache cannot apply relists: Replace expires every open interval, so their
// watchers end with 410 rather than see a gap or a wrong transform.
func (c *Cacher) reflect(ctx context.Context) {
	backoff := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		if c.cycleRecovered(ctx, backoff) {
			backoff.wait(ctx)
		}
	}
}

// cycleRecovered runs one cycle, recovering a panic in it: the panic is
// logged once with its stack and counted, the cache stops being ready, and
// panicked tells reflect to relist after a back-off. The cache's state is
// not trusted after a panic; the relist's Replace expires open watchers.
func (c *Cacher) cycleRecovered(ctx context.Context, backoff *backoff) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			c.m.panics.Inc()
			c.log.Error("cache reflector panicked; relisting", "rv", c.wc.RV(), "panic", v, "stack", string(debug.Stack()))
			c.setNotReady()
			panicked = true
		}
	}()
	c.cycle(ctx, backoff)
	return false
}

// cycle lists, then watches (resuming broken watches) until the cache must
// relist or ctx ends.
func (c *Cacher) cycle(ctx context.Context, backoff *backoff) {
	warm, err := c.fill(ctx)
	if err != nil {
		c.setNotReady()
		msg := "cache list failed"
		if errors.Is(err, errSourceUnknown) {
			msg = "cache warm start cannot check its snapshot; retrying"
		}
		c.log.Warn(msg, "err", err)
		backoff.wait(ctx)
		return
	}
	backoff.reset()
	c.ready.set(stateReady, time.Now())
	c.wake.closeAll()
	if warm {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.checkAfterWarm(ctx)
		}()
	}
	for ctx.Err() == nil {
		err := c.watchUntilBroken(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		if errors.Is(err, api.ErrMissingPrev) {
			c.m.missingPrev.Inc()
		}
		if errors.Is(err, api.ErrExpired) {
			c.log.Warn("cache watch cannot continue; relisting", "rv", c.wc.RV(), "err", err)
			c.setNotReady()
			c.m.relists.Inc()
			return
		}
		c.log.Warn("cache watch broken; resuming", "rv", c.wc.RV(), "err", err)
		backoff.wait(ctx)
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
	c.lists.Add(1)
	objs, rv, err := c.store.ListAll(ctx, c.cfg.ListPageSize)
	if err != nil {
		return err
	}
	c.wc.Replace(objs, rv, time.Now())
	c.wake.closeAll()
	c.m.observeStats(c.wc.Stats())
	c.m.setRV(rv)
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
		case <-c.compactCh:
			c.applyCompaction()
		case <-ticker.C:
			if err := c.store.RequestProgress(ctx); err != nil && ctx.Err() == nil {
				c.log.Debug("progress request failed", "err", err)
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// apply installs one watch response: its events (whole etcd revisions, in
// etcd's order) in one step, then the progress revision. etcd never splits
// a revision across responses and a resumed watch starts after the cache
// RV, so an event at or below the cache RV, or a batch the cache refuses,
// means the stream and the cache disagree: the reflector relists rather
// than drop it.
func (c *Cacher) apply(events []*api.Event, progress uint64) error {
	rv := c.wc.RV() // the reflector is the only writer: read it once
	if len(events) > 0 {
		if err := c.wc.Apply(events, time.Now()); err != nil {
			return api.Errorf(api.ErrExpired, "cacher: cannot apply events at revision %d: %v", events[0].RV, err)
		}
		c.wake.events(events)
		c.m.addEvents(len(events))
		rv = events[len(events)-1].RV
	}
	if progress > rv {
		c.wc.Progress(progress)
		rv = progress
	}
	c.m.setRV(rv)
	if len(events) > 0 {
		c.m.observeStats(c.wc.Stats())
	}
	return nil
}

// backoff is a capped exponential delay with jitter for the reflector's
// retries, so replicas that lost etcd together do not retry in lockstep.
type backoff struct {
	min, max time.Duration
	b        wait.Backoff
}

func newBackoff(min, max time.Duration) *backoff {
	b := &backoff{min: min, max: max}
	b.reset()
	return b
}

// reset starts again from the shortest delay.
func (b *backoff) reset() {
	b.b = wait.Backoff{Duration: b.min, Factor: 2, Jitter: 0.5, Steps: math.MaxInt32, Cap: b.max}
}

// next is the delay before the next retry: in [d, 1.5d) for a d that
// doubles from min up to max.
func (b *backoff) next() time.Duration { return b.b.Step() }

func (b *backoff) wait(ctx context.Context) {
	t := time.NewTimer(b.next())
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
