package watchcache

import "github.com/watchcached/watchcached/api"

// The read side of past states: Snapshot and Latest find the newest
// checkpoint at or below the requested RV and replay the few events after
// it on a private clone. The read lock is held only to find them and copy
// the event pointers; the clone and the replay run without it, so a reader
// never holds up the writer for more than a binary search and a short copy.
// The last few rebuilt states are kept, so the pages of one list and the
// lists at the same cache RV rebuild once.

// recentStates is how many rebuilt states are kept for reuse.
const recentStates = 4

// rebuilt is one state a reader rebuilt, valid within its epoch.
type rebuilt struct {
	epoch uint64
	snap  *Snapshot
}

// Snapshot returns the store as it was at rv: the newest state with RV <=
// rv (Snapshot.RV() is that state's RV). For rv >= RV() it is Latest(). If
// rv is older than every state kept, the error wraps api.ErrExpired (the
// caller may ask etcd at rv). O(log n) to find, plus a replay of fewer than
// CheckpointEvery events unless the state is a checkpoint or was rebuilt
// recently.
func (w *WatchCache) Snapshot(rv uint64) (*Snapshot, error) {
	w.mu.RLock()
	if rv >= w.rv {
		return w.latestRLocked(), nil
	}
	if rv < w.hist.floor {
		floor := w.hist.floor
		w.mu.RUnlock()
		return nil, api.TooOldRV(rv, floor)
	}
	return w.rebuildRLocked(rv), nil
}

// Latest returns the current store, with RV() = the cache RV.
func (w *WatchCache) Latest() *Snapshot {
	w.mu.RLock()
	return w.latestRLocked()
}

// latestRLocked is Latest with mu held for reading; it releases it.
func (w *WatchCache) latestRLocked() *Snapshot {
	rv := w.rv
	w.latestWanted.Store(true)
	s := w.rebuildRLocked(rv)
	if s.rv == rv {
		return s
	}
	return &Snapshot{rv: rv, st: s.st} // progress moved the RV, not the state
}

// rebuildRLocked returns the state at rv (>= floor). It is called with mu
// held for reading and releases it.
func (w *WatchCache) rebuildRLocked(rv uint64) *Snapshot {
	state, epoch := w.hist.stateRV(rv), w.epoch
	if cp := w.hist.checkpointAt(state); cp != nil { // the common case under read load
		w.mu.RUnlock()
		return cp
	}
	if s := w.recentState(epoch, state); s != nil {
		w.mu.RUnlock()
		return s
	}
	var buf [DefaultCheckpointEvery]*api.Event
	cp, evs := w.hist.plan(rv, buf[:0])
	w.mu.RUnlock()
	if len(evs) == 0 {
		return cp
	}
	w.matMu.Lock()
	st := cp.st.clone()
	w.matMu.Unlock()
	for _, ev := range evs {
		st.apply(ev)
	}
	s := &Snapshot{rv: state, st: st}
	w.keepRecent(epoch, s)
	return s
}

// recentState returns a kept rebuilt state, or nil.
func (w *WatchCache) recentState(epoch, rv uint64) *Snapshot {
	w.matMu.Lock()
	defer w.matMu.Unlock()
	for _, r := range w.recent {
		if r.snap != nil && r.epoch == epoch && r.snap.rv == rv {
			return r.snap
		}
	}
	return nil
}

// keepRecent remembers a rebuilt state, forgetting the oldest kept one.
func (w *WatchCache) keepRecent(epoch uint64, s *Snapshot) {
	w.matMu.Lock()
	defer w.matMu.Unlock()
	copy(w.recent[1:], w.recent[:len(w.recent)-1])
	w.recent[0] = rebuilt{epoch: epoch, snap: s}
}
