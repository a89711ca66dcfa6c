package watchcache

import (
	"fmt"
	"strings"

	"github.com/watchcached/watchcached/api"
)

// This file is the ring's read side for the interval package: positions are
// absolute indexes, so a reader keeps one number and finds out, at its next
// copy, whether the ring has moved past it.

// IndexExpiredError says the ring no longer holds the event at Index
// (evicted, or dropped by a Replace). It wraps api.ErrExpired; a watcher
// turns it into api.TooOldRV with the RV it had reached and Oldest.
type IndexExpiredError struct {
	Index  uint64 // the index asked for
	Start  uint64 // the ring's first index now
	Oldest uint64 // the oldest servable RV now
}

func (e *IndexExpiredError) Error() string {
	return fmt.Sprintf("watchcache: event index %d expired (ring starts at %d, oldest servable resource version %d)",
		e.Index, e.Start, e.Oldest)
}

// Unwrap returns api.ErrExpired.
func (e *IndexExpiredError) Unwrap() error { return api.ErrExpired }

// IndexAfter returns the absolute index of the first event with RV > rv: the
// index a watch from rv starts at (the end index if there is none yet). If
// rv is older than the oldest servable RV, the error is api.TooOldRV (B32).
// O(log n) under the read lock.
func (w *WatchCache) IndexAfter(rv uint64) (uint64, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if rv < w.oldest {
		return 0, api.TooOldRV(rv, w.oldest)
	}
	return w.ring.after(rv), nil
}

// CopyEvents copies the events with absolute indexes from, from+1, ... into
// dst, at most len(dst) of them and only those already appended, holding the
// read lock for the copy only. It returns how many it copied (0 when from is
// the end index). If from is before the ring's start, it copies nothing and
// returns an *IndexExpiredError.
func (w *WatchCache) CopyEvents(from uint64, dst []*api.Event) (int, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r := &w.ring
	if from < r.start {
		return 0, &IndexExpiredError{Index: from, Start: r.start, Oldest: w.oldest}
	}
	if from >= r.end {
		return 0, nil
	}
	n := min(uint64(len(dst)), r.end-from)
	for k := range n {
		dst[k] = r.at(from + k).ev
	}
	return int(n), nil
}

// CopyEventsUnder is CopyEvents for the events whose key starts with
// prefix ("" matches every event): it looks at up to ScanMax events from
// from on, copies the matching ones into dst until dst is full, and
// returns how many it copied and how many it looked at (the next index to
// look at is from+scanned; scanned is 0 only when from is the end index or
// on error). A watcher of one namespace so copies only its own events and
// skips the others' at the cost of a key comparison each, under the read
// lock for at most ScanMax of them.
func (w *WatchCache) CopyEventsUnder(from uint64, dst []*api.Event, prefix string) (copied int, scanned uint64, err error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r := &w.ring
	if from < r.start {
		return 0, 0, &IndexExpiredError{Index: from, Start: r.start, Oldest: w.oldest}
	}
	end := min(r.end, from+ScanMax)
	k := from
	for ; k < end && copied < len(dst); k++ {
		if ev := r.at(k).ev; strings.HasPrefix(ev.Object.Key, prefix) {
			dst[copied] = ev
			copied++
		}
	}
	return copied, k - from, nil
}

// ScanMax is the most events one CopyEventsUnder looks at.
const ScanMax = 4096
