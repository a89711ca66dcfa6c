package etcdstore

import (
	"context"
	"io"
	"math"
	"sync"

	"github.com/watchcached/watchcached/api"
)

// Watch starts a watch straight on etcd (B30-B42 with direct-etcd
// semantics), where api.WatchOptions.Parse says: with initial events it
// lists the latest state (not older than n when asked), sends ADDED for
// every matching object in key order, then the initial-events-end bookmark
// when asked, and watches from the revision after the list's; otherwise it
// watches from n+1, or from the current revision (RV unset or "0": etcd's
// current state is both the consistent and any state here, B34). ctx
// bounds only the start; the stream lives until Close or its end.
func (s *Store) Watch(ctx context.Context, opts api.WatchOptions) (api.Watcher, error) {
	start, err := opts.Parse()
	if err != nil {
		return nil, err
	}
	w := &watcher{pred: opts.Predicate, bookmarks: opts.AllowWatchBookmarks, closed: make(chan struct{})}
	var from uint64
	switch {
	case start.Initial:
		if from, err = w.initialEvents(ctx, s, opts, start); err != nil {
			return nil, err
		}
	case start.RV.Kind == api.RVExact:
		// n+1 would overflow etcd's int64 revision for the largest RV; no
		// revision reaches n there, so starting at n is the same watch.
		w.lastRV, from = start.RV.N, min(start.RV.N+1, math.MaxInt64)
	default:
		cur, err := s.CurrentRevision(ctx)
		if err != nil {
			return nil, err
		}
		w.lastRV, from = cur, cur+1
	}
	ns := opts.Namespace
	if !s.res.Namespaced {
		ns = ""
	}
	wctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.q = newBatchQueue(s.watchPrefix(wctx, s.res.NamespacePrefix(s.prefix, ns), from), s.directBuffer, cancel)
	return w, nil
}

// initialEvents lists the state the watch starts with into w.pending and
// returns the revision its events follow from.
func (w *watcher) initialEvents(ctx context.Context, s *Store, opts api.WatchOptions, start api.WatchStart) (uint64, error) {
	lo := api.ListOptions{Namespace: opts.Namespace, Predicate: opts.Predicate}
	if start.RV.Kind == api.RVNotOlderThan {
		lo.ResourceVersion, lo.ResourceVersionMatch = api.FormatRV(start.RV.N), api.MatchNotOlderThan
	}
	l, err := s.List(ctx, lo)
	if err != nil {
		return 0, err
	}
	for _, obj := range l.Items {
		w.pending = append(w.pending, api.WatchEvent{Type: api.Added, Object: obj, RV: obj.RV})
	}
	if start.EndBookmark {
		w.pending = append(w.pending, api.WatchEvent{Type: api.Bookmark, RV: l.RV, InitialEventsEnd: true})
	}
	w.lastRV = l.RV
	return l.RV + 1, nil
}

// watcher is the api.Watcher of Store.Watch. Next is called by one
// goroutine (the reader owns pending, lastRV and done); Close may be called
// from any goroutine.
type watcher struct {
	pred      api.Predicate
	bookmarks bool
	q         *batchQueue // bounded: a reader too slow gets a 410 (B204)
	cancel    context.CancelFunc

	pending []api.WatchEvent // owned by the reader: converted, not yet returned
	lastRV  uint64           // owned by the reader: highest RV returned; bookmarks never go below it
	done    bool             // owned by the reader: the stream is over

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
}

var _ api.Watcher = (*watcher)(nil)

// Next returns the next event; see api.Watcher.
func (w *watcher) Next(ctx context.Context) (api.WatchEvent, error) {
	for {
		select {
		case <-w.closed:
			return api.WatchEvent{}, io.EOF
		default:
		}
		if len(w.pending) > 0 {
			ev := w.pending[0]
			w.pending[0] = api.WatchEvent{}
			w.pending = w.pending[1:]
			return ev, nil
		}
		if w.done {
			return api.WatchEvent{}, io.EOF
		}
		r, ok, end := w.q.pop()
		if !ok && !end {
			select {
			case <-w.closed:
				return api.WatchEvent{}, io.EOF
			case <-ctx.Done():
				return api.WatchEvent{}, ctx.Err()
			case <-w.q.ready:
			}
			continue
		}
		switch {
		case !ok:
			w.done = true
		case r.Err != nil:
			w.done = true
			return api.WatchEvent{}, r.Err
		case r.Progress > 0:
			if w.bookmarks && r.Progress > w.lastRV {
				w.lastRV = r.Progress
				return api.WatchEvent{Type: api.Bookmark, RV: r.Progress}, nil
			}
		default:
			for _, e := range r.Events {
				if we, ok := e.Transform(w.pred.Matches); ok {
					w.pending = append(w.pending, we)
					w.lastRV = we.RV
				}
			}
		}
	}
}

// Close cancels the etcd watch and waits until its goroutines have ended.
func (w *watcher) Close() {
	w.closeOnce.Do(func() {
		close(w.closed)
		w.cancel()
		<-w.q.done
	})
}
