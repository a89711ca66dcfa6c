package watchcache

import (
	"strings"
	"sync/atomic"

	"github.com/google/btree"
	"github.com/watchcached/watchcached/api"
)

// degree is the B-tree degree of the store and its indexes. A smaller degree
// makes the path a write copies after a Clone cheaper (nodes of at most
// 2*degree-1 items) at the price of a deeper tree for reads.
const degree = 16

// store is the set of current objects ordered by Key, with one secondary
// index per configured field. Each index is itself a B-tree of
// (value, key) pairs, so a store is cloned copy-on-write as a whole.
//
// A store may also hold no index at all (idx nil, see withoutIndexes): the
// older checkpoints of the history do not keep theirs. Such a store
// answers index reads with a filtered scan of objs, the same objects in
// the same order, and a clone of it has no index either.
//
// Not safe for concurrent writes: the writer owns the live store; a clone
// that has been handed to a Snapshot is never written again and may then be
// read by any number of goroutines.
//
// Invariant: unless idx is nil, for every object o in objs and every i,
// idx[i] holds exactly one entry (o.Field(fields[i]), o.Key), and idx[i]
// holds nothing else.
type store struct {
	objs   *btree.BTreeG[*api.Object]
	fields []string                    // shared by all clones, never modified
	idx    []*btree.BTreeG[indexEntry] // nil: no index held (reads scan)
	// lastCount is the last cluster-wide count of this clone (countFrom),
	// shared by every copy of it; nil in the writer's live store.
	lastCount *atomic.Pointer[countMark]
}

// countMark says that below keys of the store are less than key.
type countMark struct {
	key   string
	below int
}

// indexEntry is one object in a field index: a pointer to its value and
// key, allocated when the object enters the index under that value and
// shared by every clone since. It carries only the key: the object is
// looked up in objs, so an update that keeps the field's value does not
// touch the index (cheaper writes, a lookup per indexed read). A pointer
// rather than the pair itself keeps the index's nodes small: a write after
// a Clone copies a leaf of 31 pointers (248 B) instead of 31 pairs of
// strings (992 B), and its inner nodes likewise.
type indexEntry = *indexKey

type indexKey struct {
	value, key string
}

func lessObject(a, b *api.Object) bool { return a.Key < b.Key }

func lessEntry(a, b indexEntry) bool {
	if a.value != b.value {
		return a.value < b.value
	}
	return a.key < b.key
}

func newStore(fields []string) store {
	s := store{
		objs:   btree.NewG(degree, lessObject),
		fields: fields,
		idx:    make([]*btree.BTreeG[indexEntry], len(fields)),
	}
	for i := range s.idx {
		s.idx[i] = btree.NewG(degree, lessEntry)
	}
	return s
}

// clone returns a copy-on-write copy in O(number of indexes). Afterwards
// neither copy's writes are visible to the other; the receiver must be the
// writer's (clone mutates its copy-on-write context). The copy holds
// indexes if and only if s does.
func (s *store) clone() store {
	c := store{objs: s.objs.Clone(), fields: s.fields, lastCount: new(atomic.Pointer[countMark])}
	if s.idx != nil {
		c.idx = make([]*btree.BTreeG[indexEntry], len(s.idx))
		for i, t := range s.idx {
			c.idx[i] = t.Clone()
		}
	}
	return c
}

// withoutIndexes returns the same frozen store without its indexes: it
// shares objs (and the count mark) with s and lets go of s's index trees,
// which are then kept alive only by whoever still holds s. s must be
// frozen (a checkpoint's store).
func (s *store) withoutIndexes() store {
	return store{objs: s.objs, fields: s.fields, lastCount: s.lastCount}
}

// set inserts or replaces obj and updates the indexes, if held.
func (s *store) set(obj *api.Object) {
	prev, replaced := s.objs.ReplaceOrInsert(obj)
	if s.idx == nil {
		return
	}
	for i, f := range s.fields {
		v := obj.Field(f)
		if replaced {
			old := prev.Field(f)
			if old == v {
				continue
			}
			s.idx[i].Delete(&indexKey{old, obj.Key})
		}
		s.idx[i].ReplaceOrInsert(&indexKey{v, obj.Key})
	}
}

// remove deletes key, if present, and its index entries.
func (s *store) remove(key string) {
	prev, ok := s.objs.Delete(&api.Object{Key: key})
	if !ok || s.idx == nil {
		return
	}
	for i, f := range s.fields {
		s.idx[i].Delete(&indexKey{prev.Field(f), key})
	}
}

// apply applies one event: Added/Modified set the object, Deleted removes it.
func (s *store) apply(ev *api.Event) {
	if ev.Type == api.Deleted {
		s.remove(ev.Object.Key)
		return
	}
	s.set(ev.Object)
}

func (s *store) get(key string) (*api.Object, bool) {
	return s.objs.Get(&api.Object{Key: key})
}

// ascend calls fn for each object with prefix and key >= startKey, in key
// order, until fn returns false.
func (s *store) ascend(prefix, startKey string, fn func(*api.Object) bool) {
	from := max(prefix, startKey)
	s.objs.AscendGreaterOrEqual(&api.Object{Key: from}, func(o *api.Object) bool {
		return strings.HasPrefix(o.Key, prefix) && fn(o)
	})
}

// countFrom counts the objects with prefix and key >= startKey. The B-tree
// keeps no subtree sizes, so counts are walks. When prefix covers every
// object (a cluster-wide list: the first and last keys have it), the
// count is also the store's size minus the keys below startKey, and a
// frozen clone remembers its last such count: the next page of a
// paginated walk counts only the keys between the two pages (a whole walk
// costs O(n) in counts, not O(n²)); otherwise it walks whichever side of
// startKey is shorter, by turns with growing budgets, O(log n + min(k,
// n-k)) for k counted keys, so that the first page of a large collection
// costs as little as its last. Other prefixes walk the k keys: O(log n +
// k). Safe for concurrent use on a frozen clone.
func (s *store) countFrom(prefix, startKey string) int {
	n := s.objs.Len()
	if prefix == "" && startKey == "" || n == 0 {
		return n
	}
	startKey = max(prefix, startKey)
	if !s.covers(prefix) {
		return s.countUpTo(prefix, startKey, -1)
	}
	below := s.countBelowFromMark(startKey)
	for budget := countStep; below < 0; budget *= 4 {
		if b := s.countBelow(startKey, budget); b <= budget {
			below = b
		} else if from := s.countUpTo(prefix, startKey, budget); from <= budget {
			below = n - from
		}
	}
	if s.lastCount != nil {
		s.lastCount.Store(&countMark{key: startKey, below: below})
	}
	return n - below
}

// countStep is the first budget of countFrom's walks; markStep the
// furthest it goes on from the last count (pages of up to 4096).
const (
	countStep = 256
	markStep  = 4096
)

// countBelowFromMark is the number of keys below key from the clone's last
// count when key is at or after it and not much further; else -1.
func (s *store) countBelowFromMark(key string) int {
	if s.lastCount == nil {
		return -1
	}
	m := s.lastCount.Load()
	if m == nil || m.key > key {
		return -1
	}
	n := 0
	s.objs.AscendRange(&api.Object{Key: m.key}, &api.Object{Key: key}, func(*api.Object) bool { n++; return n <= markStep })
	if n > markStep {
		return -1
	}
	return m.below + n
}

// covers reports whether every object's key has prefix.
func (s *store) covers(prefix string) bool {
	lo, _ := s.objs.Min()
	hi, _ := s.objs.Max()
	return strings.HasPrefix(lo.Key, prefix) && strings.HasPrefix(hi.Key, prefix)
}

// countUpTo counts the objects with prefix and key >= startKey, stopping
// at budget+1 (budget < 0: no bound).
func (s *store) countUpTo(prefix, startKey string, budget int) int {
	n := 0
	s.ascend(prefix, startKey, func(*api.Object) bool { n++; return n != budget+1 })
	return n
}

// countBelow counts the objects whose key is below key, stopping at
// budget+1.
func (s *store) countBelow(key string, budget int) int {
	n := 0
	s.objs.DescendLessOrEqual(&api.Object{Key: key}, func(o *api.Object) bool {
		if o.Key == key {
			return true
		}
		n++
		return n != budget+1
	})
	return n
}

// index returns the position of field in s.fields, or -1.
func (s *store) index(field string) int {
	for i, f := range s.fields {
		if f == field {
			return i
		}
	}
	return -1
}

// ascendIndex calls fn, in key order, for each object whose field equals
// value, with prefix and key >= startKey. It returns false, calling
// nothing, when field is not an indexed field. A store that holds no index
// scans objs and skips the other values instead: the same calls, in
// O(objects under prefix) rather than O(log n + matches).
func (s *store) ascendIndex(field, value, prefix, startKey string, fn func(*api.Object) bool) bool {
	i := s.index(field)
	if i < 0 {
		return false
	}
	if s.idx == nil {
		s.ascend(prefix, startKey, func(o *api.Object) bool { return o.Field(field) != value || fn(o) })
		return true
	}
	from := &indexKey{value, max(prefix, startKey)}
	probe := &api.Object{} // one lookup key for the whole walk: Get keeps no reference to it
	s.idx[i].AscendGreaterOrEqual(from, func(e indexEntry) bool {
		if e.value != value || !strings.HasPrefix(e.key, prefix) {
			return false
		}
		probe.Key = e.key
		o, ok := s.objs.Get(probe)
		return !ok || fn(o) // !ok cannot happen (invariant); skip rather than stop
	})
	return true
}
