package interval

import (
	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
)

// SnapshotInterval walks one snapshot lazily, in key order, for the initial
// events of a watch (RV=0, sendInitialEvents): it copies at most BufferSize
// matching objects at a time and keeps only a cursor key between copies, so
// it never copies the store. Not safe for concurrent use: it belongs to the
// watcher's goroutine. It keeps the snapshot alive until it is dropped.
//
// If the predicate requires an exact value of an indexed field, the walk
// uses that index.
type SnapshotInterval struct {
	snap   *watchcache.Snapshot
	prefix string
	pred   api.Predicate
	field  string // indexed field the predicate pins, if any
	value  string // its required value
	cursor string // first key not yet examined; "" at the start
	buf    []*api.Object
	pos    int
	done   bool // the snapshot has nothing after cursor
}

// NewSnapshot opens a walk of the objects of snap whose key has prefix and
// that match pred.
func NewSnapshot(snap *watchcache.Snapshot, prefix string, pred api.Predicate) *SnapshotInterval {
	s := &SnapshotInterval{snap: snap, prefix: prefix, pred: pred}
	for _, f := range snap.IndexedFields() {
		if v, ok := pred.ExactField(f); ok {
			s.field, s.value = f, v
			break
		}
	}
	return s
}

// Next returns the next matching object in key order, and false at the end.
func (s *SnapshotInterval) Next() (*api.Object, bool) {
	for s.pos == len(s.buf) {
		if s.done {
			return nil, false
		}
		s.refill()
	}
	o := s.buf[s.pos]
	s.buf[s.pos] = nil
	s.pos++
	return o, true
}

// refill copies the next matching objects after the cursor into the buffer.
func (s *SnapshotInterval) refill() {
	if s.buf == nil {
		s.buf = make([]*api.Object, 0, BufferSize)
	}
	s.buf, s.pos = s.buf[:0], 0
	s.done = true
	fn := func(o *api.Object) bool {
		if len(s.buf) == BufferSize {
			s.cursor, s.done = o.Key, false
			return false
		}
		if s.pred.Matches(o) {
			s.buf = append(s.buf, o)
		}
		return true
	}
	if s.field == "" || !s.snap.AscendIndex(s.field, s.value, s.prefix, s.cursor, fn) {
		s.snap.Ascend(s.prefix, s.cursor, fn)
	}
}
