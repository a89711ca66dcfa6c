package etcdstore

import (
	"context"
	"errors"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
)

// resultBuffer is how many results a raw watch may run ahead of its
// reader before it waits.
const resultBuffer = 64

// WatchEvents watches every key of the resource from revision fromRev
// (inclusive: events with RV >= fromRev; fromRev must be > 0), with the
// previous values and progress notifications. The channel closes when ctx
// ends (without an error item) or after an item with Err. It runs on the
// store's shared watch stream, so RequestProgress reaches it; ctx must
// therefore carry no gRPC metadata of its own.
func (s *Store) WatchEvents(ctx context.Context, fromRev uint64) <-chan api.SourceBatch {
	return s.watchPrefix(ctx, s.resPrefix, fromRev)
}

// RequestProgress asks etcd for a progress notification on every watch of
// this store that is caught up (etcd answers only when all the watches of
// the stream are): each then yields a api.SourceBatch with Progress set.
func (s *Store) RequestProgress(ctx context.Context) error {
	// The same metadata as the watches (leader required), or etcd's client
	// would send the request on another stream, reaching none of them.
	return mapErr(s.watcher.RequestProgress(clientv3.WithRequireLeader(ctx)))
}

func (s *Store) watchPrefix(ctx context.Context, prefix string, fromRev uint64) <-chan api.SourceBatch {
	out := make(chan api.SourceBatch, resultBuffer)
	wctx, cancel := context.WithCancel(ctx)
	// Leader required: a member cut off from its cluster fails the watch
	// (etcdserver: no leader) instead of leaving it silent forever, so the
	// reader resumes, on a member that has a leader.
	wch := s.watcher.Watch(clientv3.WithRequireLeader(wctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(int64(fromRev)),
		clientv3.WithPrevKV(), clientv3.WithProgressNotify())
	go func() {
		defer close(out)
		defer cancel()
		for {
			var resp clientv3.WatchResponse
			var ok bool
			select {
			case resp, ok = <-wch:
			case <-ctx.Done():
				return
			}
			r, last := s.toResult(resp, ok, fromRev)
			if ctx.Err() != nil {
				return
			}
			if r.Err == nil && r.Progress == 0 && len(r.Events) == 0 && !last {
				continue
			}
			select {
			case out <- r:
			case <-ctx.Done():
				return
			}
			if last {
				return
			}
		}
	}()
	return out
}

// toResult converts one etcd watch response; last reports the end of the
// stream (then r.Err is set).
func (s *Store) toResult(resp clientv3.WatchResponse, ok bool, fromRev uint64) (r api.SourceBatch, last bool) {
	switch {
	case !ok:
		return api.SourceBatch{Err: api.Errorf(api.ErrUnavailable, "etcd watch closed")}, true
	case resp.CompactRevision != 0:
		return api.SourceBatch{Err: tooOldWatch(fromRev-1, uint64(resp.CompactRevision))}, true
	case resp.Canceled || resp.Err() != nil:
		err := resp.Err()
		if errors.Is(err, rpctypes.ErrCompacted) {
			return api.SourceBatch{Err: tooOldWatch(fromRev-1, uint64(resp.CompactRevision))}, true
		}
		if err == nil {
			err = errors.New("canceled")
		}
		return api.SourceBatch{Err: api.Errorf(api.ErrUnavailable, "etcd watch failed: %v", mapErr(err))}, true
	case resp.IsProgressNotify():
		return api.SourceBatch{Progress: uint64(resp.Header.Revision)}, false
	}
	for _, ev := range resp.Events {
		if missingPrev(ev) {
			return api.SourceBatch{Err: newMissingPrevError(string(ev.Kv.Key), uint64(ev.Kv.ModRevision))}, true
		}
		if e := s.toEvent(ev); e != nil {
			r.Events = append(r.Events, e)
		}
	}
	return r, false
}

// missingPrev reports whether etcd sent a delete or an update without the
// previous value it was asked for (it omits it when reading the key at
// mod_revision-1 fails, e.g. right after a compaction). Such an event
// cannot be applied right: a delete would be lost, and an update's
// selector transform (B40) would be wrong.
func missingPrev(ev *clientv3.Event) bool {
	return ev.PrevKv == nil && (ev.Type == mvccpb.DELETE || ev.Kv.CreateRevision != ev.Kv.ModRevision)
}

// missingPrevError is the 410 of a watch that got an event without its
// previous value; it matches both api.ErrExpired and api.ErrMissingPrev.
type missingPrevError struct{ err *api.Error }

func newMissingPrevError(key string, rev uint64) error {
	return &missingPrevError{api.Errorf(api.ErrExpired,
		"etcd sent the change of %q at revision %d without its previous value; relist", key, rev)}
}

func (e *missingPrevError) Error() string { return e.err.Message }

// Unwrap yields the *api.Error (so api.ErrExpired).
func (e *missingPrevError) Unwrap() error { return e.err }

// Is matches api.ErrMissingPrev.
func (e *missingPrevError) Is(target error) bool { return target == api.ErrMissingPrev }

// tooOldWatch is the 410 of a watch whose start was compacted.
func tooOldWatch(rv, compacted uint64) error {
	return api.TooOldRV(rv, compacted)
}

// toEvent converts one etcd event, or returns nil when it shows nothing a
// reader could see: a put of an undecodable value over an absent or
// undecodable one, or a delete of one. A put of an undecodable value over
// one that decoded becomes DELETED (the object is now absent for Get and
// List too); a put of a decodable value over an undecodable one is ADDED.
func (s *Store) toEvent(ev *clientv3.Event) *api.Event {
	kv, rev := ev.Kv, uint64(ev.Kv.ModRevision)
	var prev *api.Object
	if p := ev.PrevKv; p != nil {
		prev, _ = s.decodeKV(p.Key, p.Value, p.ModRevision)
	}
	if ev.Type == mvccpb.Event_DELETE {
		if prev == nil {
			return nil
		}
		return &api.Event{Type: api.Deleted, Object: prev.WithRV(rev), Prev: prev, RV: rev}
	}
	obj, ok := s.decodeKV(kv.Key, kv.Value, kv.ModRevision)
	switch {
	case !ok && prev == nil:
		return nil
	case !ok:
		return &api.Event{Type: api.Deleted, Object: prev.WithRV(rev), Prev: prev, RV: rev}
	case kv.CreateRevision == kv.ModRevision || (ev.PrevKv != nil && prev == nil):
		return &api.Event{Type: api.Added, Object: obj, Prev: nil, RV: rev}
	default:
		return &api.Event{Type: api.Modified, Object: obj, Prev: prev, RV: rev}
	}
}
