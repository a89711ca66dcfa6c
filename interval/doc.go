// Package interval hands one watcher the events it must see, lazily, from
// a watchcache.WatchCache.
//
// An Interval is a watcher's position in the cache's ring of events: an
// absolute ring index plus a small buffer. It copies at most BufferSize
// events per refill, holding the cache's read lock for that copy only, and
// drops each event from its buffer as it hands it out, so a slow watcher
// pins at most BufferSize events and never blocks the writer or other
// watchers. Starting one costs the same whatever the history length: a
// binary search for the index and a few words; the buffer is allocated with
// the first events.
//
// When the ring evicts events an interval has not copied yet (the writer
// overtook a slow watcher), or a relist (WatchCache.Replace) resets the
// ring, the interval finds its index before the ring's start at its next
// refill: it hands out what it had already copied, then returns, for good,
// api.TooOldRV ("too old resource version: <last RV> (<oldest
// servable>)", wrapping api.ErrExpired). It never skips silently.
//
// A SnapshotInterval walks a watchcache.Snapshot in key order for the
// initial events of a watch (RV=0 or sendInitialEvents), keeping the
// snapshot and a cursor key, never a copy of the store.
//
// What it is not: it does not block or wait (the caller waits on
// WatchCache.Changed), it does not filter events by selector (the watcher
// does, to turn them into ADDED/MODIFIED/DELETED per B40), and it is not
// safe for concurrent use. The trade-off: a refill per BufferSize events
// (one lock round trip and a binary-search-free index step) in exchange for
// constant memory per watcher and no copying of history.
package interval
