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
