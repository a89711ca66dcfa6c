package watchcache

import (
	"sort"

	"github.com/watchcached/watchcached/api"
)

// history is what it takes to rebuild the store as it was at any RV from
// floor on: frozen checkpoints (clones of the store taken every
// Config.CheckpointEvery events) and the events applied since the oldest
// checkpoint. The state at RV n is the newest checkpoint <= n with the
// events after it up to n replayed on a clone of it: fewer than
// CheckpointEvery of them, plus the rest of the revision that reached that
// count (checkpoints are taken only between revisions).
//
// Not safe for concurrent use: guarded by WatchCache.mu.
//
// Invariants (checked by checkInvariants):
//   - len(checkpoints) >= 1, their RVs strictly increase, and
//     checkpoints[0].rv <= floor < checkpoints[1].rv (if there is one);
//   - log holds the events with RV > checkpoints[0].rv, RVs never
//     decreasing; every checkpoint but the first is at the RV of an event
//     in log and after the last event of that RV (a whole revision);
//     fewer than CheckpointEvery events lie between two consecutive
//     checkpoints or after the last one, not counting the events of the
//     revision that reached CheckpointEvery;
//   - the newest checkpoint holds its indexes and no other one does.
type history struct {
	checkpoints []*Snapshot
	log         []*api.Event
	floor       uint64 // the oldest state RV kept; older RVs are expired
}

// reset starts over from one checkpoint (a relist).
func (h *history) reset(cp *Snapshot) {
	clear(h.checkpoints)
	h.checkpoints = append(h.checkpoints[:0], cp)
	clear(h.log)
	h.log = h.log[:0]
	h.floor = cp.rv
}

// add records an applied event and, if the writer took one, the checkpoint
// at its RV (holding its indexes); the previous newest checkpoint is
// replaced by a copy without them. A reader that already holds the
// previous one keeps it whole.
func (h *history) add(ev *api.Event, cp *Snapshot) {
	h.log = append(h.log, ev)
	if cp != nil {
		last := len(h.checkpoints) - 1
		prev := h.checkpoints[last]
		h.checkpoints[last] = &Snapshot{rv: prev.rv, st: prev.st.withoutIndexes()}
		h.checkpoints = append(h.checkpoints, cp)
	}
}

// stateRV returns the RV of the newest state at or below rv: the newest
// event RV <= rv, else the oldest checkpoint's. rv >= floor.
func (h *history) stateRV(rv uint64) uint64 {
	n := sort.Search(len(h.log), func(i int) bool { return h.log[i].RV > rv })
	if n == 0 {
		return h.checkpoints[0].rv
	}
	return h.log[n-1].RV
}

// checkpointAt returns the checkpoint at exactly rv, or nil.
func (h *history) checkpointAt(rv uint64) *Snapshot {
	cps := h.checkpoints
	if last := cps[len(cps)-1]; last.rv == rv { // the latest state, usually
		return last
	}
	i := sort.Search(len(cps), func(i int) bool { return cps[i].rv >= rv })
	if i < len(cps) && cps[i].rv == rv {
		return cps[i]
	}
	return nil
}

// plan returns the newest checkpoint at or below rv and a copy of the
// events after it up to rv, appended to buf. rv >= floor.
func (h *history) plan(rv uint64, buf []*api.Event) (*Snapshot, []*api.Event) {
	i := sort.Search(len(h.checkpoints), func(i int) bool { return h.checkpoints[i].rv > rv }) - 1
	cp := h.checkpoints[i]
	lo := sort.Search(len(h.log), func(i int) bool { return h.log[i].RV > cp.rv })
	hi := lo
	for hi < len(h.log) && h.log[hi].RV <= rv { // fewer than CheckpointEvery steps
		hi++
	}
	return cp, append(buf, h.log[lo:hi]...)
}

// raiseFloor makes the states before rv (a state RV) unavailable, and
// drops the checkpoints and events only they needed.
func (h *history) raiseFloor(rv uint64) {
	if rv <= h.floor {
		return
	}
	h.floor = rv
	n := 0 // checkpoints to drop: all before the newest one <= floor
	for n+1 < len(h.checkpoints) && h.checkpoints[n+1].rv <= rv {
		n++
	}
	if n > 0 {
		clear(h.checkpoints[:n])
		h.checkpoints = h.checkpoints[n:]
	}
	base := h.checkpoints[0].rv
	k := 0
	for k < len(h.log) && h.log[k].RV <= base {
		k++
	}
	if k > 0 {
		clear(h.log[:k])
		h.log = h.log[k:]
	}
}
