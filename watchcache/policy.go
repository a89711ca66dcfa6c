package watchcache

// The ring's sizing policy. It runs under WatchCache.mu held for writing,
// before each append (makeRoomLocked) and after it (evictBytesLocked).
//
// The aim is to keep at least Config.Window of history within
// [MinCapacity, MaxCapacity] events and MaxBytes bytes:
//   - full, and the oldest event is younger than the window: double the
//     capacity (up to MaxCapacity) instead of evicting;
//   - full, and at most a quarter of the capacity is younger than the
//     window: halve it (down to MinCapacity), evicting only events older
//     than the window;
//   - still full: evict the oldest event;
//   - after the append, evict the oldest events while the ring holds more
//     than MaxBytes (but never the event just appended).

// makeRoomLocked makes room for one more event appended at now (unix ns).
func (w *WatchCache) makeRoomLocked(now int64) {
	r := &w.ring
	if !r.full() {
		return
	}
	window := w.cfg.Window.Nanoseconds()
	if c := r.cap(); c < w.cfg.MaxCapacity && now-r.at(r.start).at < window {
		r.resize(min(2*c, w.cfg.MaxCapacity))
		return
	}
	// At most c/4 events are younger than the window iff the (c/4+1)-th
	// newest is older than it (the ring is full and ordered by time).
	if c := r.cap(); c/2 >= w.cfg.MinCapacity && r.at(r.end-1-uint64(c/4)).at < now-window {
		n := c / 2
		for r.len() >= n {
			w.evictLocked()
		}
		r.resize(n)
		return
	}
	w.evictLocked()
}

// evictBytesLocked evicts the oldest events while the ring is over
// MaxBytes, keeping the newest.
func (w *WatchCache) evictBytesLocked() {
	for w.ring.bytes > w.cfg.MaxBytes && w.ring.len() > 1 {
		w.evictLocked()
	}
}

// evictLocked evicts the oldest event. Watches from its RV stay servable
// (every later event is still here), older ones do not, and the snapshots
// before it go with it (B32).
func (w *WatchCache) evictLocked() {
	s := w.ring.pop()
	w.oldest = s.ev.RV
	w.hist.raiseFloor(s.ev.RV)
}
