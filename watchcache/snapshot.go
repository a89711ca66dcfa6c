package watchcache

import "github.com/watchcached/watchcached/api"

// Snapshot is the store as it was at one resourceVersion. It is immutable
// and safe for concurrent use by any number of goroutines; holding one keeps
// its B-tree nodes alive (only the nodes later writes replaced cost extra
// memory), so let go of it when the list or page is done.
type Snapshot struct {
	rv uint64
	st store // a frozen clone: never written
}

// RV is the resourceVersion the snapshot shows: the RV of the event (or
// relist) that produced it, or the cache RV for Latest.
func (s *Snapshot) RV() uint64 { return s.rv }

// Get returns the object stored under key.
func (s *Snapshot) Get(key string) (*api.Object, bool) { return s.st.get(key) }

// Len is the number of objects.
func (s *Snapshot) Len() int { return s.st.objs.Len() }

// Ascend calls fn for every object whose key has prefix and is >= startKey
// (startKey "" starts at the prefix), in key order, until fn returns false.
// A prefix is matched byte-wise: pass "/registry/pods/ns1/" (with the
// slash) so that ns10 is not included.
func (s *Snapshot) Ascend(prefix, startKey string, fn func(*api.Object) bool) {
	s.st.ascend(prefix, startKey, fn)
}

// CountFrom is the number of objects whose key has prefix and is >=
// startKey: the remainingItemCount of a page ending just before startKey.
// O(1) for the whole store (both arguments empty); for a prefix that
// covers every object O(log n + min(k, n-k)) for k counted keys, or the
// distance from the snapshot's previous such count when it is a little
// before startKey (the previous page); otherwise O(log n + k).
func (s *Snapshot) CountFrom(prefix, startKey string) int {
	return s.st.countFrom(prefix, startKey)
}

// AscendIndex is Ascend restricted to objects whose Field(field) equals
// value, using field's index: O(log n + matches) for the latest state. A
// past state keeps no index (only the newest checkpoint does, B256) and
// scans its objects under prefix instead: the same calls, in the same
// order. It returns false (calling fn never) if field is not an indexed
// field; the caller then scans with Ascend and filters.
func (s *Snapshot) AscendIndex(field, value, prefix, startKey string, fn func(*api.Object) bool) bool {
	return s.st.ascendIndex(field, value, prefix, startKey, fn)
}

// IndexedFields lists the fields AscendIndex accepts. The caller must not
// modify the slice.
func (s *Snapshot) IndexedFields() []string { return s.st.fields }
