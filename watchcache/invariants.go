package watchcache

import (
	"fmt"

	"github.com/watchcached/watchcached/api"
)

// checkInvariants verifies every invariant written on the fields of
// WatchCache, ring and store, and returns the first violation. It takes the
// read lock and walks everything (O(n)); tests call it after each step.
func (w *WatchCache) checkInvariants() error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if err := w.ring.check(w.cfg); err != nil {
		return err
	}
	if w.ring.len() > 0 {
		first, last := w.ring.at(w.ring.start).ev.RV, w.ring.at(w.ring.end-1).ev.RV
		if w.oldest > first {
			return fmt.Errorf("oldest servable %d > first ring RV %d", w.oldest, first)
		}
		if last > w.rv {
			return fmt.Errorf("ring RV %d > cache RV %d", last, w.rv)
		}
	}
	if w.oldest > w.rv || w.hist.floor > w.rv {
		return fmt.Errorf("oldest servable %d or snapshot floor %d > cache RV %d", w.oldest, w.hist.floor, w.rv)
	}
	if err := w.hist.check(w.cfg.CheckpointEvery); err != nil {
		return err
	}
	if w.objects != w.live.objs.Len() {
		return fmt.Errorf("objects %d, live store %d", w.objects, w.live.objs.Len())
	}
	return w.live.check()
}

func (r *ring) check(cfg Config) error {
	if r.start > r.end || r.len() > r.cap() {
		return fmt.Errorf("ring [%d,%d) does not fit capacity %d", r.start, r.end, r.cap())
	}
	if r.cap() < cfg.MinCapacity || r.cap() > cfg.MaxCapacity {
		return fmt.Errorf("ring capacity %d outside [%d,%d]", r.cap(), cfg.MinCapacity, cfg.MaxCapacity)
	}
	var bytes int64
	var prev *slot
	for i := r.start; i < r.end; i++ {
		s := r.at(i)
		if s.ev == nil {
			return fmt.Errorf("ring index %d is empty", i)
		}
		if prev != nil && (s.ev.RV < prev.ev.RV || s.at < prev.at) {
			return fmt.Errorf("ring index %d: RV %d at %d after RV %d at %d", i, s.ev.RV, s.at, prev.ev.RV, prev.at)
		}
		bytes += s.size
		prev = s
	}
	if bytes != r.bytes {
		return fmt.Errorf("ring bytes %d, sum of sizes %d", r.bytes, bytes)
	}
	for i := range r.slots {
		abs := r.start + uint64((i-int(r.start%uint64(r.cap()))+r.cap())%r.cap())
		if abs >= r.end && r.slots[i].ev != nil {
			return fmt.Errorf("ring slot %d outside [%d,%d) still holds an event", i, r.start, r.end)
		}
	}
	return nil
}

func (h *history) check(every int) error {
	cps := h.checkpoints
	if len(cps) == 0 {
		return fmt.Errorf("no checkpoint kept")
	}
	if cps[0].rv > h.floor || (len(cps) > 1 && cps[1].rv <= h.floor) {
		return fmt.Errorf("checkpoints start %d, floor %d: not the newest checkpoint <= floor", cps[0].rv, h.floor)
	}
	for i, cp := range cps {
		if held := cp.st.idx != nil; held != (i == len(cps)-1) {
			return fmt.Errorf("checkpoint %d of %d at RV %d: holds indexes %v", i, len(cps), cp.rv, held)
		}
	}
	if err := cps[len(cps)-1].st.check(); err != nil {
		return fmt.Errorf("newest checkpoint at RV %d: %w", cps[len(cps)-1].rv, err)
	}
	k, since := 0, 0 // k walks the checkpoints after the first
	for i, ev := range h.log {
		if ev.RV <= cps[0].rv || (i > 0 && ev.RV < h.log[i-1].RV) {
			return fmt.Errorf("log RV %d out of order (base %d)", ev.RV, cps[0].rv)
		}
		newRevision := i == 0 || ev.RV != h.log[i-1].RV
		if newRevision && since >= every {
			return fmt.Errorf("%d events without a checkpoint before RV %d", since, ev.RV)
		}
		since++
		if k+1 < len(cps) && cps[k+1].rv == ev.RV && (i+1 == len(h.log) || h.log[i+1].RV != ev.RV) {
			k, since = k+1, 0
		}
	}
	if since >= every {
		return fmt.Errorf("%d events after the last checkpoint", since)
	}
	if k != len(cps)-1 {
		return fmt.Errorf("checkpoint at %d is not at a logged event", cps[k+1].rv)
	}
	return nil
}

// check verifies the indexes against objs (nothing without indexes).
func (s *store) check() error {
	if s.idx == nil {
		return nil
	}
	n := 0
	var err error
	s.objs.Ascend(func(o *api.Object) bool {
		for i, f := range s.fields {
			if !s.idx[i].Has(&indexKey{o.Field(f), o.Key}) {
				err = fmt.Errorf("index %s lacks %q=%q", f, o.Key, o.Field(f))
				return false
			}
		}
		n++
		return true
	})
	if err != nil {
		return err
	}
	for i, f := range s.fields {
		if s.idx[i].Len() != n {
			return fmt.Errorf("index %s has %d entries for %d objects", f, s.idx[i].Len(), n)
		}
	}
	return nil
}
