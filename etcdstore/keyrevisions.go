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
	end := clientv3.GetPrefixRangeEnd(s.resPrefix)
	var out []api.KeyRevision
	key := s.resPrefix
	for {
		begin := time.Now()
		resp, err := s.client.Get(ctx, key, clientv3.WithRange(end), clientv3.WithRev(int64(rev)),
			clientv3.WithKeysOnly(), clientv3.WithLimit(keyRevisionsPage))
		s.requests.observe("list", begin)
		switch {
		case errors.Is(err, rpctypes.ErrCompacted):
			return nil, api.Errorf(api.ErrExpired, "revision %d was compacted", rev)
		case errors.Is(err, rpctypes.ErrFutureRev):
			cur, cerr := s.CurrentRevision(ctx)
			if cerr != nil {
				return nil, cerr
			}
			return nil, api.TooLargeRV(rev, cur)
		case err != nil:
			return nil, mapErr(err)
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
