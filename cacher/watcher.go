package cacher

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/interval"
)

// watcher is one watch stream served from the cache. Next is called by a
// single goroutine (the client's handler); Close may be called from any
// goroutine and ends a Next in progress.
//
// Lifecycle:
//
//	initial (snapshot walk) ──▶ live (interval over the ring) ──▶ done
//	                               │ ring overtook it: ERROR 410 ─▶ done
//
// A watcher holds no lock between calls and no buffer beyond its interval's:
// a slow reader only falls behind in the ring (B43).
type watcher struct {
	c        *Cacher
	pred     api.Predicate
	prefix   string // key prefix of the watched namespace (or the resource)
	wakeBy   string // tracked field the predicate pins; "" = wake on every change
	wakeVal  string
	bookmark bool // AllowWatchBookmarks

	// Owned by the reading goroutine.
	initial      *interval.SnapshotInterval // nil once walked
	endBookmark  bool                       // send the initial-events-end bookmark after initial
	live         *interval.Interval
	err          error  // delivered by the next Next; then the stream is over
	sentRV       uint64 // every matching event <= sentRV has been handed out
	lastBookmark time.Time
	preDeadline  bool // the bookmark before the deadline was sent
	timer        clock.Timer
	onIdle       func() // called before Next blocks (api.IdleNotifier)
	done         bool

	closed    chan struct{} // closed by Close
	closeOnce sync.Once
}

var (
	_ api.Watcher      = (*watcher)(nil)
	_ api.IdleNotifier = (*watcher)(nil)
)

func (c *Cacher) newWatcher(opts api.WatchOptions) *watcher {
	w := &watcher{
		c:            c,
		pred:         opts.Predicate,
		prefix:       c.res.NamespacePrefix(c.etcdPrefix, opts.Namespace),
		bookmark:     opts.AllowWatchBookmarks,
		lastBookmark: c.clock.Now(),
		closed:       make(chan struct{}),
	}
	w.wakeBy, w.wakeVal = c.wakeKeyFor(opts)
	return w
}

// Next returns the next event for the client (see api.Watcher).
func (w *watcher) Next(ctx context.Context) (api.WatchEvent, error) {
	if w.done {
		return api.WatchEvent{}, io.EOF
	}
	if w.isClosed() {
		return w.endOfRevision(io.EOF)
	}
	select {
	case <-ctx.Done(): // a busy stream ends too (deadline, shutdown), between revisions
		return w.endOfRevision(ctx.Err())
	default:
	}
	if w.err != nil {
		return w.fail(w.err)
	}
	if w.initial != nil {
		if obj, ok := w.initial.Next(); ok {
			return api.WatchEvent{Type: api.Added, Object: obj, RV: obj.RV}, nil
		}
		w.initial = nil
		if w.endBookmark {
			w.endBookmark = false
			w.lastBookmark = w.c.clock.Now()
			return api.WatchEvent{Type: api.Bookmark, RV: w.sentRV, InitialEventsEnd: true}, nil
		}
	}
	// The wake channel and the cache RV are fetched only once the interval
	// runs dry, then the interval is asked again: a watcher working through
	// a backlog costs no notifier channel and no broadcast per event.
	var wake <-chan struct{}
	var rv uint64
	for {
		ev, err := w.live.Next()
		if err != nil {
			return w.fail(err)
		}
		if ev != nil {
			wake = nil
			out, ok := ev.Transform(w.matches)
			w.sentRV = ev.RV
			if ok {
				return out, nil
			}
			continue
		}
		if wake == nil {
			wake = w.wakeChan()
			rv = w.c.wc.RV() // every event <= rv is in the ring already
			continue
		}
		// Caught up: nothing <= rv is left to send.
		w.sentRV = max(w.sentRV, rv)
		if w.bookmark && w.bookmarkDue(ctx) {
			return api.WatchEvent{Type: api.Bookmark, RV: w.sentRV}, nil
		}
		if w.onIdle != nil {
			w.onIdle()
		}
		select {
		case <-wake:
			wake = nil
		case <-w.bookmarkTimer(ctx):
			wake = nil // re-read the cache RV the bookmark will carry
		case <-ctx.Done():
			return api.WatchEvent{}, ctx.Err()
		case <-w.closed:
			w.done = true
			return api.WatchEvent{}, io.EOF
		case <-w.c.stopCh:
			w.done = true
			return api.WatchEvent{}, io.EOF
		}
	}
}

// endOfRevision hands out what is left of the etcd revision the stream is
// in, then end (io.EOF, or the context's error): a stream never ends
// between two events of one revision, so a client that resumes from the
// last RV it received loses nothing. Called once the watcher is closed or
// its context is done; never blocks.
func (w *watcher) endOfRevision(end error) (api.WatchEvent, error) {
	for w.initial == nil && w.live != nil {
		ev, err := w.live.NextInRevision()
		if err != nil {
			return w.fail(err)
		}
		if ev == nil {
			break
		}
		w.sentRV = ev.RV
		if out, ok := ev.Transform(w.matches); ok {
			return out, nil
		}
	}
	w.done = end == io.EOF // a context error ends only this call, as while idle
	return api.WatchEvent{}, end
}

// NotifyIdle registers f to be called whenever Next is about to block.
func (w *watcher) NotifyIdle(f func()) { w.onIdle = f }

// Close ends the stream and frees its place in the ring.
func (w *watcher) Close() {
	w.closeOnce.Do(func() {
		close(w.closed)
		if w.wakeBy != "" {
			w.c.wake.remove(w.wakeBy, w.wakeVal)
		}
		w.c.m.watchers.Dec()
	})
}

// isClosed reports whether Close or Cacher.Close ended the stream: then
// only the rest of the current revision is handed out.
func (w *watcher) isClosed() bool {
	select {
	case <-w.closed:
		return true
	case <-w.c.stopCh:
		return true
	default:
		return false
	}
}

// fail ends the stream with err, which the client receives as an ERROR event.
func (w *watcher) fail(err error) (api.WatchEvent, error) {
	w.done, w.err = true, nil
	if errors.Is(err, api.ErrExpired) {
		w.c.m.watchersExpired.Inc()
	}
	return api.WatchEvent{}, err
}

// wakeChan is the channel closed when an event this watcher may care about
// arrives (fetched before looking at the ring, so none is missed).
func (w *watcher) wakeChan() <-chan struct{} {
	if w.wakeBy != "" {
		return w.c.wake.wait(w.wakeBy, w.wakeVal)
	}
	return w.c.wc.Changed()
}

func (w *watcher) matches(o *api.Object) bool {
	return strings.HasPrefix(o.Key, w.prefix) && w.pred.Matches(o)
}

// bookmarkDue reports (and records) whether a bookmark is to be sent now:
// every BookmarkInterval, and once about 2 s before the stream's deadline
// (B42).
func (w *watcher) bookmarkDue(ctx context.Context) bool {
	now := w.c.clock.Now()
	due := now.Sub(w.lastBookmark) >= w.c.cfg.BookmarkInterval
	if d, ok := ctx.Deadline(); ok && !w.preDeadline && !now.Before(d.Add(-preDeadlineBookmark)) {
		w.preDeadline, due = true, true
	}
	if due {
		w.lastBookmark = now
	}
	return due
}

// preDeadlineBookmark is how long before a watch's deadline its last
// bookmark is sent, so a client can resume from it.
const preDeadlineBookmark = 2 * time.Second

// bookmarkTimer fires when the next bookmark is due; nil (blocks forever)
// when bookmarks are off.
func (w *watcher) bookmarkTimer(ctx context.Context) <-chan time.Time {
	if !w.bookmark {
		return nil
	}
	next := w.lastBookmark.Add(w.c.cfg.BookmarkInterval)
	if d, ok := ctx.Deadline(); ok && !w.preDeadline {
		next = minTime(next, d.Add(-preDeadlineBookmark))
	}
	wait := max(next.Sub(w.c.clock.Now()), time.Millisecond)
	if w.timer == nil {
		w.timer = w.c.clock.NewTimer(wait)
	} else {
		w.timer.Reset(wait)
	}
	return w.timer.C()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
