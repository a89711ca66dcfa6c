package watchcache

import (
	"sort"

	"github.com/watchcached/watchcached/api"
)

// ring is the history of events in RV order, each addressed by an absolute
// index that never changes and never repeats: event i lives in
// slots[i % len(slots)] while start <= i < end.
//
// It is a plain data structure with no lock of its own: WatchCache guards it
// with its mu (written only with mu held for writing).
//
// Invariants (checked by checkInvariants):
//   - start <= end and end-start <= len(slots)
//   - the RVs of events [start, end) never decrease; events sharing an RV
//     are one etcd revision, and all of it is in the ring or none of it was
//     appended yet (it may lose its oldest events to eviction)
//   - bytes == the sum of slots[i].size over [start, end)
//   - the append times of events [start, end) never decrease
//   - slots outside [start, end) hold no event (nothing is kept alive)
type ring struct {
	slots      []slot
	start, end uint64
	bytes      int64
}

// slot is one event with what the policy needs to know about it.
type slot struct {
	ev   *api.Event
	size int64 // eventSize(ev), computed once
	at   int64 // append time, unix nanoseconds
}

func newRing(capacity int) ring {
	return ring{slots: make([]slot, capacity)}
}

func (r *ring) len() int { return int(r.end - r.start) }

func (r *ring) cap() int { return len(r.slots) }

func (r *ring) full() bool { return r.len() == len(r.slots) }

// at returns the slot of absolute index i; start <= i < end.
func (r *ring) at(i uint64) *slot { return &r.slots[i%uint64(len(r.slots))] }

// push appends one event; the ring must not be full.
func (r *ring) push(s slot) {
	*r.at(r.end) = s
	r.end++
	r.bytes += s.size
}

// pop evicts the oldest event and returns it; the ring must not be empty.
func (r *ring) pop() slot {
	p := r.at(r.start)
	s := *p
	*p = slot{}
	r.start++
	r.bytes -= s.size
	return s
}

// resize moves the events into a buffer of n slots; len() <= n.
func (r *ring) resize(n int) {
	slots := make([]slot, n)
	for i := r.start; i < r.end; i++ {
		slots[i%uint64(n)] = *r.at(i)
	}
	r.slots = slots
}

// reset drops every event and skips one index, so that a reader whose next
// index was end finds itself before start (expired) instead of silently
// continuing after a relist.
func (r *ring) reset() {
	for i := r.start; i < r.end; i++ {
		*r.at(i) = slot{}
	}
	r.end++
	r.start = r.end
	r.bytes = 0
}

// after returns the index of the first event with RV > rv, or end if none.
func (r *ring) after(rv uint64) uint64 {
	n := sort.Search(r.len(), func(k int) bool {
		return r.at(r.start+uint64(k)).ev.RV > rv
	})
	return r.start + uint64(n)
}

// eventSize is what an event holds on the heap beyond what the store holds:
// its Object and its Prev.
func eventSize(ev *api.Event) int64 {
	n := int64(64 + ev.Object.Size())
	if ev.Prev != nil {
		n += int64(ev.Prev.Size())
	}
	return n
}
