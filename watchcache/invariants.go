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
	if w.latest.rv != w.rv {
		return fmt.Errorf("latest snapshot RV %d != cache RV %d", w.latest.rv, w.rv)
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
	if w.oldest > w.rv {
		return fmt.Errorf("oldest servable %d > cache RV %d", w.oldest, w.rv)
	}
	if err := w.snaps.check(w.oldest); err != nil {
		return err
	}
	return w.latest.st.check()
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
		if prev != nil && (s.ev.RV <= prev.ev.RV || s.at < prev.at) {
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

func (l *snapshotList) check(oldest uint64) error {
	if len(l.items) == 0 {
		return fmt.Errorf("no snapshot kept")
	}
	for i := 1; i < len(l.items); i++ {
		if l.items[i].rv <= l.items[i-1].rv {
			return fmt.Errorf("snapshot RVs not increasing: %d after %d", l.items[i].rv, l.items[i-1].rv)
		}
	}
	if len(l.items) > 1 && l.items[1].rv <= oldest {
		return fmt.Errorf("snapshot at %d kept though %d describes oldest servable %d", l.items[0].rv, l.items[1].rv, oldest)
	}
	return nil
}

func (s *store) check() error {
	n := 0
	var err error
	s.objs.Ascend(func(o *api.Object) bool {
		for i, f := range s.fields {
			if !s.idx[i].Has(indexEntry{o.Fields[f], o.Key}) {
				err = fmt.Errorf("index %s lacks %q=%q", f, o.Key, o.Fields[f])
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
