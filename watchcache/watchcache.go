package watchcache

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchcached/watchcached/api"
)

// ErrOutOfOrder is returned by Apply for a batch whose first RV is not above
// the cache RV, whose RVs decrease, or with an event that is not Added,
// Modified or Deleted. It is a bug in the caller (the reflector): relist.
var ErrOutOfOrder = errors.New("watchcache: event out of order")

// WatchCache is the in-memory state of one resource: the current objects,
// what it takes to rebuild them as they were at any RV still in the history,
// and the ring of recent events. Single writer: Replace, Apply (Append), Progress and
// Compact must be serialised by the caller (the cacher's reflector
// goroutine); every other method is safe for concurrent use by any number of
// readers. It starts no goroutines, does no I/O and reads no clock: the
// writer passes now.
type WatchCache struct {
	cfg Config // immutable after New

	// live is the writer's working copy of the store, and pending the
	// number of events applied to it since the last checkpoint. Only the
	// writer touches them, outside mu: readers only ever see frozen clones.
	live    store
	pending int
	// latestWanted is set by every reader of the latest state: the writer
	// then checkpoints after its next event, so that readers of the current
	// state find a checkpoint while they keep asking. Under a steady read
	// load every event becomes a checkpoint; without readers, every
	// CheckpointEvery-th.
	latestWanted atomic.Bool

	// mu guards the fields below it up to matMu. Lock order: mu, then
	// matMu; nothing else is taken while either is held.
	mu sync.RWMutex
	// rv is the highest applied RV (events and progress). guarded by mu
	rv uint64
	// ring holds the recent events. guarded by mu
	ring ring
	// hist rebuilds past states; hist.floor <= oldest unless Compact
	// raised it. guarded by mu
	hist history
	// oldest is the oldest servable RV: a watch from any n >= oldest sees
	// every event after n. It is the relist RV, or the RV of the newest
	// evicted event. Invariant: oldest <= every RV in the ring. guarded by mu
	oldest uint64
	// epoch counts Replace calls, so that a state rebuilt before a relist
	// is never served after it. guarded by mu
	epoch uint64
	// objects is the number of objects in the latest state. guarded by mu
	objects int
	// lastAt is the newest append time (unix ns); times never decrease.
	// guarded by mu
	lastAt int64
	// changed is closed at the next write if waited is set. guarded by mu
	changed chan struct{}
	// waited is set by Changed (under mu held for reading) and cleared by
	// the writer (under mu held for writing) when it closes changed.
	waited atomic.Bool

	// matMu serialises clones of checkpoints (a Clone writes the cloned
	// tree's copy-on-write context) and guards recent.
	matMu sync.Mutex
	// recent holds the last states rebuilt by readers. guarded by matMu
	recent [recentStates]rebuilt
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
	w.hist.reset(&Snapshot{st: w.live.clone()})
	return w, nil
}

// Replace resets the cache to objs (in any order) at rv, after a (re)list.
// Every past state and event is dropped; a watch can start from any RV >=
// rv. Intervals opened before the Replace get the expired error at their
// next refill: the ring skips an index, so their position is before its
// start.
func (w *WatchCache) Replace(objs []*api.Object, rv uint64, now time.Time) {
	w.live = newStore(w.cfg.IndexedFields)
	for _, o := range objs {
		w.live.set(o)
	}
	w.pending = 0
	cp := &Snapshot{rv: rv, st: w.live.clone()}

	w.mu.Lock()
	defer w.mu.Unlock()
	w.rv = rv
	w.epoch++
	w.ring.reset()
	w.hist.reset(cp)
	w.oldest = rv
	w.objects = w.live.objs.Len()
	w.lastAt = max(w.lastAt, now.UnixNano())
	w.notifyLocked()
}

// Append applies one event that is a whole etcd revision on its own; it is
// Apply with a batch of one.
func (w *WatchCache) Append(ev *api.Event, now time.Time) error {
	return w.Apply([]*api.Event{ev}, now)
}

// Apply applies a batch of events (one or more whole etcd revisions, in
// etcd's order) to the store, appends them to the ring and the history and
// evicts or resizes to honour the Config. RVs must not decrease within the
// batch and the first must be above RV(); events that share an RV are the
// changes of one etcd revision (a transaction, a prefix delete, a lease
// expiry) and must all be in the same batch.
//
// Readers see the batch all at once: the cache RV moves to the last
// event's RV and the events become visible in one step under the lock, so
// no reader ever sees half of a revision, and a reader that has caught up
// with the ring is always at a revision boundary. Checkpoints are taken
// only at revision boundaries. It returns an error wrapping ErrOutOfOrder,
// changing nothing, for a batch that breaks these rules or holds an event
// of another type than Added, Modified or Deleted.
func (w *WatchCache) Apply(evs []*api.Event, now time.Time) error {
	if err := w.checkBatch(evs); err != nil {
		return err
	}
	var cpBuf [2]*Snapshot
	cps := cpBuf[:0] // cps[k] is the checkpoint after evs[cpAt[k]]
	var atBuf [2]int
	cpAt := atBuf[:0]
	for i, ev := range evs {
		w.live.apply(ev)
		w.pending++
		if i+1 < len(evs) && evs[i+1].RV == ev.RV {
			continue // never checkpoint inside a revision
		}
		if w.pending >= w.cfg.CheckpointEvery || w.latestWanted.Swap(false) {
			cps, cpAt = append(cps, &Snapshot{rv: ev.RV, st: w.live.clone()}), append(cpAt, i)
			w.pending = 0
		}
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	at := max(w.lastAt, now.UnixNano())
	w.lastAt = at
	for i, ev := range evs {
		var cp *Snapshot
		if len(cpAt) > 0 && cpAt[0] == i {
			cp, cps, cpAt = cps[0], cps[1:], cpAt[1:]
		}
		w.makeRoomLocked(at)
		w.ring.push(slot{ev: ev, size: eventSize(ev), at: at})
		w.hist.add(ev, cp)
		w.evictBytesLocked()
	}
	w.rv = evs[len(evs)-1].RV
	w.objects = w.live.objs.Len()
	w.notifyLocked()
	return nil
}

// checkBatch reports why evs cannot be applied, or nil.
func (w *WatchCache) checkBatch(evs []*api.Event) error {
	if len(evs) == 0 {
		return fmt.Errorf("%w: empty batch", ErrOutOfOrder)
	}
	prev := w.rv
	for i, ev := range evs {
		if ev == nil || ev.Object == nil {
			return fmt.Errorf("%w: event %d has no object", ErrOutOfOrder, i)
		}
		if ev.RV < prev || (i == 0 && ev.RV == prev) {
			return fmt.Errorf("%w: event RV %d after RV %d (cache RV %d)", ErrOutOfOrder, ev.RV, prev, w.rv)
		}
		if ev.Type != api.Added && ev.Type != api.Modified && ev.Type != api.Deleted {
			return fmt.Errorf("%w: event type %q", ErrOutOfOrder, ev.Type)
		}
		prev = ev.RV
	}
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
	w.notifyLocked()
}

// Compact drops the past states that etcd's compaction at rev made
// useless: every state older than the newest one at or below rev (which
// still describes the state at rev). The ring is not touched.
func (w *WatchCache) Compact(rev uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if rev > w.hist.floor {
		w.hist.raiseFloor(w.hist.stateRV(rev))
	}
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

// Stats describes the cache's size, for metrics and tests.
type Stats struct {
	RV               uint64 // cache RV
	OldestRV         uint64 // oldest servable RV of a watch
	OldestSnapshotRV uint64 // oldest RV Snapshot answers (older: expired)
	RingLen, RingCap int
	RingBytes        int64
	StartIndex       uint64 // absolute index of the oldest event in the ring
	EndIndex         uint64 // absolute index the next event will get
	Objects          int
	Snapshots        int // checkpoints kept (frozen clones of the store)
}

// Stats returns the current Stats.
func (w *WatchCache) Stats() Stats {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return Stats{
		RV: w.rv, OldestRV: w.oldest, OldestSnapshotRV: w.hist.floor,
		RingLen: w.ring.len(), RingCap: w.ring.cap(), RingBytes: w.ring.bytes,
		StartIndex: w.ring.start, EndIndex: w.ring.end,
		Objects: w.objects, Snapshots: len(w.hist.checkpoints),
	}
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
