package cacher

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchcached/watchcached/api"
)

// waitFresh blocks until the cache has applied everything etcd had committed
// when the call began: the consistent read of B1/B10. It learns etcd's
// current revision through the shared revisionBatcher (which also asks for a
// progress notification), then waits for the cache to reach it, within the
// freshness timeout. It returns the revision waited for.
func (c *Cacher) waitFresh(ctx context.Context) (uint64, error) {
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, c.cfg.FreshnessTimeout)
	defer cancel()
	rev, err := c.currentRevision(ctx, tctx)
	if err != nil {
		return 0, err
	}
	err = c.waitRV(tctx, rev)
	c.m.freshWait.Observe(time.Since(start).Seconds())
	return rev, err
}

// currentRevision learns etcd's current revision through the shared
// batcher within tctx (a child of ctx bounded by the freshness timeout).
// Its own timeout is a 504, never a bare context error (which a watch
// stream would end on silently); the revision request has the same bound,
// and etcd's client may report it a little before tctx expires.
func (c *Cacher) currentRevision(ctx, tctx context.Context) (uint64, error) {
	rev, err := c.revs.get(tctx)
	if err != nil && ctx.Err() == nil && (tctx.Err() != nil || errors.Is(err, api.ErrTimeout)) {
		err = api.Errorf(api.ErrTimeout, "Timeout: etcd's current revision not learnt within %v", c.cfg.FreshnessTimeout)
	}
	return rev, err
}

// fallsBackToEtcd reports whether a consistent read whose waitFresh failed
// with err is answered by etcd instead (B1, B10): only when etcd told its
// revision and the cache did not reach it in time. When etcd could not
// tell its revision within the freshness timeout it cannot answer the read
// either, so the read gets waitFresh's 504 (or etcd's 503) at once rather
// than a delegated request that waits out the caller's whole deadline (60 s
// over HTTP) against an unreachable etcd.
func fallsBackToEtcd(err error) bool { return errors.Is(err, api.ErrTooLargeRV) }

// waitRV blocks until the cache RV is at least rv (B3, B12). It gives up when
// ctx ends or after the freshness timeout, with the 504 "Too large resource
// version" error of B4.
func (c *Cacher) waitRV(ctx context.Context, rv uint64) error {
	if c.wc.RV() >= rv {
		return nil
	}
	timer := time.NewTimer(c.cfg.FreshnessTimeout)
	defer timer.Stop()
	for {
		ch := c.wc.Changed()
		if c.wc.RV() >= rv {
			return nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return api.TooLargeRV(rv, c.wc.RV())
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return api.TooLargeRV(rv, c.wc.RV())
			}
			return ctx.Err()
		case <-c.stopCh:
			return c.ready.notReadyError(time.Now())
		}
	}
}

// revisionBatcher shares linearizable "current revision" requests among
// consistent readers: every caller that arrives while no request is being
// prepared joins the next one, and at most one request is in flight. Under
// load N concurrent readers cost about two requests, not N, and no reader
// ever gets a revision learnt before it arrived.
//
// After each answer it asks etcd for a progress notification on the cache's
// watch stream, sent after the revision was read, so the notification
// reports at least that revision and the waiting readers wake at once
// instead of waiting for the next event.
//
// Safe for concurrent use.
type revisionBatcher struct {
	c    *Cacher
	sent atomic.Uint64 // revision requests sent to etcd

	mu      sync.Mutex
	next    *revFlight // guarded by mu; the batch new callers join, not yet sent
	running bool       // guarded by mu; a sender goroutine is active
	closed  bool       // guarded by mu; set by Cacher.Close before it waits
}

type revFlight struct {
	done chan struct{} // closed when rev/err are set
	rev  uint64
	err  error
}

func newRevisionBatcher(c *Cacher) *revisionBatcher { return &revisionBatcher{c: c} }

// get returns a revision of etcd read after the call began.
func (b *revisionBatcher) get(ctx context.Context) (uint64, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return 0, b.c.ready.notReadyError(time.Now())
	}
	if b.next == nil {
		b.next = &revFlight{done: make(chan struct{})}
	}
	f := b.next
	if !b.running {
		b.running = true
		b.c.wg.Add(1)
		go b.run()
	}
	b.mu.Unlock()
	select {
	case <-f.done:
		return f.rev, f.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// run sends batches until none is waiting.
func (b *revisionBatcher) run() {
	defer b.c.wg.Done()
	for {
		b.mu.Lock()
		f := b.next
		b.next = nil
		if f == nil {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.sent.Add(1)
		b.c.m.revisionRequests.Inc()
		ctx, cancel := context.WithTimeout(b.c.ctx, b.c.cfg.FreshnessTimeout)
		f.rev, f.err = b.c.store.CurrentRevision(ctx)
		if f.err == nil && b.c.wc.RV() < f.rev {
			_ = b.c.store.RequestProgress(ctx)
		}
		cancel()
		close(f.done)
	}
}

// shutdown refuses new batches; Close then waits for a running sender.
func (b *revisionBatcher) shutdown() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}
