package etcdstore

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
)

// keyRevisionsPage is the page size of ListKeyRevisions.
const keyRevisionsPage = 10000

// ListKeyRevisions lists every key of the resource at revision rev with
// the mod revision of its value, in key order, without reading values:
// what the cache's consistency check compares, at a small fraction of a
// list's bytes. Keys whose values do not decode are included (the cache
// does not hold them; the check reports them). A compacted rev gives an
// error wrapping api.ErrExpired, a future one api.ErrTooLargeRV.
func (s *Store) ListKeyRevisions(ctx context.Context, rev uint64) ([]api.KeyRevision, error) {
	return s.ListKeyRevisionsIn(ctx, rev, api.KeyRange{Begin: s.resPrefix})
}

// ListKeyRevisionsIn is ListKeyRevisions of the keys in r only (the
// differing ranges of the check after a warm start, rangecheck.go). A
// range not within the resource's prefix is an error.
func (s *Store) ListKeyRevisionsIn(ctx context.Context, rev uint64, r api.KeyRange) ([]api.KeyRevision, error) {
	key, end, err := s.keyRange(r)
	if err != nil {
		return nil, err
	}
	var out []api.KeyRevision
	for {
		begin := time.Now()
		resp, err := s.client.Get(ctx, key, clientv3.WithRange(end), clientv3.WithRev(int64(rev)),
			clientv3.WithKeysOnly(), clientv3.WithLimit(keyRevisionsPage))
		s.requests.observe("list", begin)
		if err != nil {
			return nil, s.revisionErr(ctx, rev, err)
		}
		if out == nil {
			out = make([]api.KeyRevision, 0, resp.Count)
		}
		for _, kv := range resp.Kvs {
			out = append(out, api.KeyRevision{Key: string(kv.Key), RV: uint64(kv.ModRevision)})
		}
		next, more := nextPage(resp)
		if !more {
			return out, nil
		}
		key = next
	}
}

// revisionErr maps the error of a read at revision rev: compacted is
// api.ErrExpired, future api.ErrTooLargeRV (with etcd's current
// revision), anything else as mapErr does.
func (s *Store) revisionErr(ctx context.Context, rev uint64, err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return api.Errorf(api.ErrExpired, "revision %d was compacted", rev)
	case errors.Is(err, rpctypes.ErrFutureRev):
		cur, cerr := s.CurrentRevision(ctx)
		if cerr != nil {
			return cerr
		}
		return api.TooLargeRV(rev, cur)
	}
	return mapErr(err)
}
