package interval

import (
	"fmt"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
)

// B30/B33: the snapshot walk yields exactly the matching objects under the
// prefix, in key order, across several buffer refills, with and without an
// index (B25: identical results).
func TestSnapshotInterval_SameWithAndWithoutIndex_B30_B25(t *testing.T) {
	var objs []*api.Object
	for i := range 1000 {
		objs = append(objs, obj(fmt.Sprintf("ns%d", i%12), fmt.Sprintf("p%04d", i), uint64(i+1), fmt.Sprintf("node%d", i%5)))
	}
	indexed := newCache(t, watchcache.Config{IndexedFields: []string{"spec.nodeName"}}, 1)
	plain := newCache(t, watchcache.Config{}, 1)
	indexed.Replace(objs, 2000, t0)
	plain.Replace(objs, 2000, t0)
	for _, tc := range []struct{ prefix, labels, fields string }{
		{"", "", ""},
		{podPrefix, "", ""},
		{podPrefix + "ns1/", "", ""},
		{podPrefix + "ns1/", "", "spec.nodeName=node2"},
		{podPrefix, "", "spec.nodeName=node3"},
		{podPrefix, "", "spec.nodeName!=node3"},
		{podPrefix, "", "spec.nodeName=none"},
		{podPrefix + "ns10/", "", "metadata.name=p0010"},
		{podPrefix, "x=y", ""},
	} {
		pred, err := api.ParsePredicate(tc.labels, tc.fields, []string{"spec.nodeName"})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, o := range sortedKeys(objs) {
			if len(o.Key) >= len(tc.prefix) && o.Key[:len(tc.prefix)] == tc.prefix && pred.Matches(o) {
				want = append(want, o.Key)
			}
		}
		for name, w := range map[string]*watchcache.WatchCache{"indexed": indexed, "plain": plain} {
			s := NewSnapshot(w.Latest(), tc.prefix, pred)
			var got []string
			for o, ok := s.Next(); ok; o, ok = s.Next() {
				got = append(got, o.Key)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s %+v: got %d objects, want %d", name, tc, len(got), len(want))
			}
			if _, ok := s.Next(); ok {
				t.Fatalf("%s %+v: Next after the end", name, tc)
			}
		}
	}
}

func TestSnapshotIntervalEmpty_YieldsNothing_B33(t *testing.T) {
	w := newCache(t, watchcache.Config{}, 5)
	s := NewSnapshot(w.Latest(), podPrefix, api.Predicate{})
	if o, ok := s.Next(); ok || o != nil {
		t.Fatalf("Next on empty = %v, %v", o, ok)
	}
}

// The walk holds its snapshot: later writes do not show.
func TestSnapshotIntervalIsolation(t *testing.T) {
	w := newCache(t, watchcache.Config{}, 1)
	w.Replace([]*api.Object{obj("a", "x", 1, "")}, 1, t0)
	s := NewSnapshot(w.Latest(), "", api.Predicate{})
	appendAll(t, w, []*api.Event{{Type: api.Added, Object: obj("a", "y", 2, ""), RV: 2}})
	n := 0
	for _, ok := s.Next(); ok; _, ok = s.Next() {
		n++
	}
	if n != 1 {
		t.Fatalf("walk saw %d objects", n)
	}
}

func sortedKeys(objs []*api.Object) []*api.Object {
	out := append([]*api.Object(nil), objs...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Key < out[j-1].Key; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// TestSnapshotInterval_PastStateWithoutIndex_B258: the walk of a past
// state, whose checkpoint no longer keeps the field index (B256), with a
// predicate pinning the indexed field, yields exactly the objects that
// matched at that state, in key order, across several refills, although
// every object has moved to another node since.
func TestSnapshotInterval_PastStateWithoutIndex_B258(t *testing.T) {
	const n = 3*BufferSize + 7
	var objs []*api.Object
	for i := range n {
		objs = append(objs, obj(fmt.Sprintf("ns%d", i%7), fmt.Sprintf("p%04d", i), 10, fmt.Sprintf("node%d", i%3)))
	}
	w := newCache(t, watchcache.Config{IndexedFields: []string{"spec.nodeName"}, MinCapacity: 2 * n, MaxCapacity: 2 * n, CheckpointEvery: 8}, 1)
	w.Replace(objs, 10, t0)
	var evs []*api.Event
	for i, o := range objs { // every pod moves to the next node, one revision each
		evs = append(evs, &api.Event{Type: api.Modified, Object: obj(o.Namespace, o.Name, uint64(11+i), fmt.Sprintf("node%d", (i+1)%3)), Prev: o, RV: uint64(11 + i)})
	}
	appendAll(t, w, evs)
	past, err := w.Snapshot(10)
	if err != nil || past.RV() != 10 {
		t.Fatalf("Snapshot(10) = %v, %v", past, err)
	}
	for _, tc := range []struct{ prefix, fields string }{
		{podPrefix, "spec.nodeName=node1"},
		{podPrefix + "ns3/", "spec.nodeName=node2"},
		{podPrefix, "spec.nodeName=node1,metadata.name!=p0001"},
		{podPrefix, "spec.nodeName=none"},
	} {
		pred, err := api.ParsePredicate("", tc.fields, []string{"spec.nodeName"})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, o := range sortedKeys(objs) {
			if len(o.Key) >= len(tc.prefix) && o.Key[:len(tc.prefix)] == tc.prefix && pred.Matches(o) {
				want = append(want, fmt.Sprintf("%s@%d", o.Key, o.RV))
			}
		}
		s := NewSnapshot(past, tc.prefix, pred)
		var got []string
		for o, ok := s.Next(); ok; o, ok = s.Next() {
			got = append(got, fmt.Sprintf("%s@%d", o.Key, o.RV))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%+v: got %d objects %.200v, want %d %.200v", tc, len(got), got, len(want), want)
		}
		if tc.prefix == podPrefix && tc.fields != "spec.nodeName=none" && len(want) < BufferSize {
			t.Fatalf("%+v: %d matches do not span a refill", tc, len(want))
		}
	}
}
