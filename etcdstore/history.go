package etcdstore

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
)

// etcd's history: the current revision, whether a revision was compacted
// away, and compaction itself (Store.Compact compacts etcd; the Compactor
// in compactor.go decides when). Nothing here reads or decodes values.

// CurrentRevision returns etcd's current revision with one linearizable
// request.
func (s *Store) CurrentRevision(ctx context.Context) (uint64, error) {
	begin := time.Now()
	resp, err := s.client.Get(ctx, s.resPrefix, clientv3.WithCountOnly())
	s.requests.observe("getCurrentResourceVersion", begin)
	if err != nil {
		return 0, mapErr(err)
	}
	return uint64(resp.Header.Revision), nil
}

// Compacted reports whether etcd has compacted revision rev away, with one
// small serializable request (a count of at most one key at rev). The cache
// asks it before answering a continue token from its own snapshot, so a
// token etcd can no longer serve gets 410 from every replica alike (B23).
func (s *Store) Compacted(ctx context.Context, rev uint64) (bool, error) {
	_, err := s.client.Get(ctx, s.resPrefix, clientv3.WithRev(int64(rev)), clientv3.WithCountOnly(),
		clientv3.WithLimit(1), clientv3.WithSerializable())
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, rpctypes.ErrCompacted):
		return true, nil
	default:
		return false, mapErr(err)
	}
}

// CompactRevision returns etcd's compacted revision (revisions below it can
// no longer be read), given one already known (0: none). While etcd has not
// compacted past known it costs one small serializable request and returns
// known; otherwise a short-lived watch from known, which etcd answers at
// once with its compacted revision.
func (s *Store) CompactRevision(ctx context.Context, known uint64) (uint64, error) {
	compacted, err := s.Compacted(ctx, max(known, 1))
	if err != nil || !compacted {
		return known, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The resource prefix itself is never a key: the watch sees no events.
	for resp := range s.client.Watch(wctx, s.resPrefix, clientv3.WithRev(int64(max(known, 1)))) {
		if resp.CompactRevision > 0 {
			return uint64(resp.CompactRevision), nil
		}
		if err := resp.Err(); err != nil {
			return known, mapErr(err)
		}
	}
	if err := ctx.Err(); err != nil {
		return known, mapErr(err)
	}
	return known, api.Errorf(api.ErrUnavailable, "etcd watch closed before it reported the compacted revision")
}

// Compact compacts etcd's history up to rev (physically, waiting for it).
func (s *Store) Compact(ctx context.Context, rev uint64) error {
	if _, err := s.client.Compact(ctx, int64(rev), clientv3.WithCompactPhysical()); err != nil {
		return mapErr(err)
	}
	return nil
}
