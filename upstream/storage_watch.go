package upstream

import (
	"context"
	"io"

	"github.com/watchcached/watchcached/api"
)

// Watch is one upstream watch with the options of opts, served as an
// api.Watcher: what a client would get from the upstream, event for event.
func (s *Source) Watch(ctx context.Context, opts api.WatchOptions) (api.Watcher, error) {
	if _, err := opts.Parse(); err != nil {
		return nil, err
	}
	p := watchParams{namespace: opts.Namespace, rv: opts.ResourceVersion, match: opts.ResourceVersionMatch,
		sendInitialEvents: opts.SendInitialEvents}
	if opts.Predicate.Label != nil {
		p.label = opts.Predicate.Label.String()
	}
	if opts.Predicate.Field != nil {
		p.field = opts.Predicate.Field.String()
	}
	// The stream outlives ctx (it bounds only the start); Close ends it.
	st, err := s.openWatch(context.WithoutCancel(ctx), p)
	if err != nil {
		return nil, err
	}
	return &watcher{st: st, bookmarks: opts.AllowWatchBookmarks}, nil
}

// watcher reads one upstream stream (api.Watcher's contract).
type watcher struct {
	st        *stream
	bookmarks bool
}

func (w *watcher) Next(ctx context.Context) (api.WatchEvent, error) {
	for {
		select {
		case it, ok := <-w.st.items:
			switch {
			case !ok || it.eof:
				return api.WatchEvent{}, io.EOF
			case it.err != nil:
				return api.WatchEvent{}, it.err
			case it.typ == api.Bookmark && !w.bookmarks:
				continue
			}
			return api.WatchEvent{Type: it.typ, Object: it.obj, RV: it.rv, InitialEventsEnd: it.initialEnd}, nil
		case <-ctx.Done():
			return api.WatchEvent{}, ctx.Err()
		}
	}
}

func (w *watcher) Close() { w.st.close() }
