package watchcache

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchcached/watchcached/api"
)

// ErrOutOfOrder is returned by Append for an event whose RV is not above the
// cache RV, or that is not Added, Modified or Deleted. It is a bug in the
// caller (the reflector): relist.
var ErrOutOfOrder = errors.New("watchcache: event out of order")

// WatchCache is the in-memory state of one resource: the current objects, a
// snapshot of them after every event still in the history, and the ring of
// recent events. Single writer: Replace, Append, Progress and Compact must be
// serialised by the caller (the cacher's reflector goroutine); every other
// method is safe for concurrent use by any number of readers. It starts no
// goroutines, does no I/O and reads no clock: the writer passes now.
type WatchCache struct {
	cfg Config // immutable after New

	// live is the writer's working copy of the store. Only the writer
	// touches it, outside mu: readers only ever see frozen clones.
	live store

	// mu guards everything below. Lock order: mu is a leaf lock.
	mu sync.RWMutex
	// rv is the highest applied RV (events and progress). guarded by mu
	rv uint64
	// ring holds the recent events. guarded by mu
	ring ring
	// snaps holds one snapshot per event in the ring plus the one at
	// oldest (unless Compact dropped older ones); RVs strictly increase.
	// guarded by mu
	snaps snapshotList
	// latest is the current state; latest.rv == rv. guarded by mu
	latest *Snapshot
	// oldest is the oldest servable RV: a watch from any n >= oldest sees
	// every event after n. It is the relist RV, or the RV of the newest
	// evicted event. Invariant: oldest <= every RV in the ring. guarded by mu
	oldest uint64
	// lastAt is the newest append time (unix ns); times never decrease.
	// guarded by mu
	lastAt int64
	// changed is closed at the next write if waited is set. guarded by mu
	changed chan struct{}
	// waited is set by Changed (under mu held for reading) and cleared by
	// the writer (under mu held for writing) when it closes changed.
	waited atomic.Bool
}

// New returns an empty WatchCache at RV 0. The caller normally calls
// Replace with the initial list before serving from it.
func New(cfg Config) (*WatchCache, error) {
	cfg.IndexedFields = append([]string(nil), cfg.IndexedFields...)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &WatchCache{cfg: cfg, live: newStore(cfg.IndexedFields), ring: newRing(cfg.MinCapacity)}
	w.changed = make(chan struct{})
	w.latest = &Snapshot{st: w.live.clone()}
	w.snaps.push(w.latest)
	return w, nil
}

// Replace resets the cache to objs (in any order) at rv, after a (re)list.
// Every snapshot and event is dropped; a watch can start from any RV >= rv.
// Intervals opened before the Replace get the expired error at their next
// refill: the ring skips an index, so their position is before its start.
func (w *WatchCache) Replace(objs []*api.Object, rv uint64, now time.Time) {
	w.live = newStore(w.cfg.IndexedFields)
	for _, o := range objs {
		w.live.set(o)
	}
	snap := &Snapshot{rv: rv, st: w.live.clone()}

	w.mu.Lock()
	defer w.mu.Unlock()
	w.rv = rv
	w.ring.reset()
	w.snaps.reset(snap)
	w.latest = snap
	w.oldest = rv
	w.lastAt = max(w.lastAt, now.UnixNano())
	w.notifyLocked()
}

// Append applies ev (ev.RV must be above RV()) to the store, keeps a
// snapshot at ev.RV, appends ev to the ring and evicts or resizes to honour
// the Config. It returns an error wrapping ErrOutOfOrder, changing nothing,
// for an event that is out of order or of another type than Added,
// Modified or Deleted.
func (w *WatchCache) Append(ev *api.Event, now time.Time) error {
	if ev.RV <= w.rv || ev.Object == nil {
		return fmt.Errorf("%w: event RV %d, cache RV %d", ErrOutOfOrder, ev.RV, w.rv)
	}
	if ev.Type != api.Added && ev.Type != api.Modified && ev.Type != api.Deleted {
		return fmt.Errorf("%w: event type %q", ErrOutOfOrder, ev.Type)
	}
	w.live.apply(ev)
	snap := &Snapshot{rv: ev.RV, st: w.live.clone()}
	s := slot{ev: ev, size: eventSize(ev)}

	w.mu.Lock()
	defer w.mu.Unlock()
	s.at = max(w.lastAt, now.UnixNano())
	w.lastAt = s.at
	w.makeRoomLocked(s.at)
	w.ring.push(s)
	w.snaps.push(snap)
	w.evictBytesLocked()
	w.rv = ev.RV
	w.latest = snap
	w.notifyLocked()
	return nil
}

// Progress advances the cache RV to rv without an event (an etcd progress
// notification): nothing changed up to rv. No-op if rv <= RV().
func (w *WatchCache) Progress(rv uint64) {
	if rv <= w.rv {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rv = rv
	w.latest = &Snapshot{rv: rv, st: w.latest.st}
	w.notifyLocked()
}

// Compact drops the snapshots that etcd's compaction at rev made useless:
// every one older than the newest snapshot with RV <= rev (which still
// describes the state at rev). The ring is not touched.
func (w *WatchCache) Compact(rev uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.snaps.keepFrom(rev)
}

// RV is the highest applied RV, from events and progress.
func (w *WatchCache) RV() uint64 {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.rv
}

// Changed returns a channel that is closed at the next Append, Replace or
// Progress. Fetch it before checking the state you wait on, and fetch it
// again after it fires.
func (w *WatchCache) Changed() <-chan struct{} {
	w.mu.RLock()
	defer w.mu.RUnlock()
	w.waited.Store(true)
	return w.changed
}

// Snapshot returns the store as it was at rv: the newest snapshot with RV <=
// rv. For rv >= RV() it is Latest(). If every kept snapshot is newer than
// rv, the error wraps api.ErrExpired (the caller may ask etcd at rv).
func (w *WatchCache) Snapshot(rv uint64) (*Snapshot, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if rv >= w.rv {
		return w.latest, nil
	}
	s := w.snaps.find(rv)
	if s == nil {
		oldest := w.snaps.oldest().rv
		return nil, api.Errorf(api.ErrExpired, "too old resource version: %d (%d)", rv, oldest)
	}
	return s, nil
}

// Latest returns the current store, with RV() = the cache RV.
func (w *WatchCache) Latest() *Snapshot {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.latest
}

// Stats describes the cache's size, for metrics and tests.
type Stats struct {
	RV               uint64 // cache RV
	OldestRV         uint64 // oldest servable RV of a watch
	OldestSnapshotRV uint64 // RV of the oldest kept snapshot
	RingLen, RingCap int
	RingBytes        int64
	StartIndex       uint64 // absolute index of the oldest event in the ring
	EndIndex         uint64 // absolute index the next event will get
	Objects          int
	Snapshots        int
}

// Stats returns the current Stats.
func (w *WatchCache) Stats() Stats {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return Stats{
		RV: w.rv, OldestRV: w.oldest, OldestSnapshotRV: w.snaps.oldest().rv,
		RingLen: w.ring.len(), RingCap: w.ring.cap(), RingBytes: w.ring.bytes,
		StartIndex: w.ring.start, EndIndex: w.ring.end,
		Objects: w.latest.Len(), Snapshots: w.snaps.len(),
	}
}

// TooOldError is the error a watch from rv gets when the history no longer
// holds every event after rv; oldest is the oldest servable RV (B32).
func TooOldError(rv, oldest uint64) *api.Error {
	return api.Errorf(api.ErrExpired, "too old resource version: %d (%d)", rv, oldest)
}

// notifyLocked wakes every reader waiting on Changed. Needs mu held for
// writing.
func (w *WatchCache) notifyLocked() {
	if w.waited.Load() {
		close(w.changed)
		w.changed = make(chan struct{})
		w.waited.Store(false)
	}
}
