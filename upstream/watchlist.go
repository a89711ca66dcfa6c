package upstream

import (
	"context"
	"errors"

	"github.com/watchcached/watchcached/api"
)

// useWatchList reports whether ListAll lists through a WatchList.
func (s *Source) useWatchList() bool {
	switch s.cfg.WatchList {
	case WatchListOn:
		return true
	case WatchListOff:
		return false
	}
	return !s.watchListOff.Load()
}

// watchList is ListAll through one watch with sendInitialEvents=true and
// resourceVersionMatch=NotOlderThan from "" (the upstream's current
// state): its ADDED events up to the bookmark annotated
// k8s.io/initial-events-end are the objects, the bookmark's RV is the
// list's. The open stream is then held for the next WatchEvents, which
// continues it without a second request. A stream that shows no end
// bookmark is errNoWatchList.
func (s *Source) watchList(ctx context.Context) ([]*api.Object, uint64, error) {
	yes := true
	st, err := s.openWatch(ctx, watchParams{rv: "", match: api.MatchNotOlderThan, sendInitialEvents: &yes})
	if err != nil {
		return nil, 0, err
	}
	var objs []*api.Object
	for {
		var it item
		var ok bool
		select {
		case it, ok = <-st.items:
		case <-ctx.Done():
			st.close()
			return nil, 0, ctx.Err()
		}
		switch {
		case !ok:
			st.close()
			return nil, 0, api.Errorf(api.ErrUnavailable, "upstream watch-list of %s closed", s.res.GroupResource())
		case it.err != nil:
			st.close()
			return nil, 0, it.err
		case it.typ == api.Added:
			objs = append(objs, it.obj)
		case it.typ == api.Bookmark && it.initialEnd:
			st.rv = it.rv
			s.mu.Lock()
			s.pending = st
			s.mu.Unlock()
			return objs, it.rv, nil
		case it.typ == api.Bookmark:
		default:
			// A live event before the end bookmark: the upstream ignored
			// sendInitialEvents (it streams the state, then changes).
			st.close()
			return nil, 0, errors.Join(errNoWatchList, api.Errorf(api.ErrUnavailable, "upstream sent %s before the initial-events-end bookmark", it.typ))
		}
	}
}
