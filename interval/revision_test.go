package interval

import (
	"errors"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
)

// A watch from any RV gets every event after it, never half of a revision:
// from the RV before a revision it gets all of the revision's events, from
// the revision's own RV none of them.
func TestInterval_WholeRevisions(t *testing.T) {
	w := newCache(t, watchcache.Config{}, 100)
	evs := revisionEvents(11, 400, 40, 100)
	appendAll(t, w, evs)
	shared := 0
	for k := range evs {
		if k > 0 && evs[k].RV == evs[k-1].RV {
			shared++
		}
		it, err := New(w, evs[k].RV)
		if err != nil {
			t.Fatal(err)
		}
		got, err := drain(t, it)
		first := k + 1
		for first < len(evs) && evs[first].RV == evs[k].RV {
			first++
		}
		if err != nil || rvs(got) != rvs(evs[first:]) || (len(got) > 0 && got[0] != evs[first]) {
			t.Fatalf("from %d: %v, %s", evs[k].RV, err, rvs(got))
		}
	}
	if shared < 100 {
		t.Fatalf("only %d of 400 events share a revision: the generator does not exercise it", shared)
	}
}

// NextInRevision finishes the revision of the last event handed out and
// stops at the next revision; it hands out nothing before the first event.
func TestInterval_NextInRevision(t *testing.T) {
	w := newCache(t, watchcache.Config{}, 100)
	a, b, c := obj("ns", "a", 101, "n"), obj("ns", "b", 101, "n"), obj("ns", "c", 102, "n")
	rev1 := []*api.Event{{Type: api.Added, Object: a, RV: 101}, {Type: api.Added, Object: b, RV: 101}}
	rev2 := []*api.Event{{Type: api.Added, Object: c, RV: 102}}
	appendAll(t, w, append(append([]*api.Event{}, rev1...), rev2...))
	it, err := New(w, 100)
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := it.NextInRevision(); ev != nil || err != nil {
		t.Fatalf("before any event: %v, %v", ev, err)
	}
	if ev, err := it.Next(); ev != rev1[0] || err != nil {
		t.Fatalf("Next = %v, %v", ev, err)
	}
	if ev, err := it.NextInRevision(); ev != rev1[1] || err != nil {
		t.Fatalf("NextInRevision = %v, %v; want the rest of RV 101", ev, err)
	}
	if ev, err := it.NextInRevision(); ev != nil || err != nil {
		t.Fatalf("NextInRevision at the end of RV 101 = %v, %v; want nothing", ev, err)
	}
	if ev, err := it.Next(); ev != rev2[0] || err != nil {
		t.Fatalf("Next = %v, %v; want RV 102", ev, err)
	}
}

// If the ring overtakes an interval inside a revision, NextInRevision
// reports the expired error instead of ending quietly mid-revision.
func TestInterval_NextInRevisionExpired_B32(t *testing.T) {
	w := newCache(t, watchcache.Config{MinCapacity: 16, MaxCapacity: 16}, 100)
	var rev []*api.Event
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		rev = append(rev, &api.Event{Type: api.Added, Object: obj("ns", n, 101, "n"), RV: 101})
	}
	appendAll(t, w, rev)
	it, err := New(w, 100)
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := it.Next(); ev != rev[0] || err != nil { // copies the first minBuffer events
		t.Fatalf("Next = %v, %v", ev, err)
	}
	appendAll(t, w, events(12, 20, 40, 101)) // overtakes the rest of RV 101
	for {
		ev, err := it.NextInRevision()
		if err != nil {
			if !errors.Is(err, api.ErrExpired) {
				t.Fatalf("NextInRevision error %v, want expired", err)
			}
			return
		}
		if ev == nil {
			t.Fatal("NextInRevision ended quietly inside RV 101")
		}
	}
}
