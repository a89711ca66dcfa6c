package watchcache

import (
	"errors"
	"testing"

	"github.com/watchcached/watchcached/api"
)

// deleteAll is one etcd revision that deletes every object of objs at rv,
// as a prefix delete or a lease expiry does: one DELETED event per key, all
// carrying rv, in key order.
func deleteAll(objs []*api.Object, rv uint64) []*api.Event {
	evs := make([]*api.Event, len(objs))
	for i, o := range objs {
		evs[i] = &api.Event{Type: api.Deleted, Object: o.WithRV(rv), Prev: o, RV: rv}
	}
	return evs
}

// createAll is one etcd revision that creates the named objects at rv, as a
// transaction does.
func createAll(rv uint64, names ...string) []*api.Event {
	evs := make([]*api.Event, len(names))
	for i, n := range names {
		evs[i] = &api.Event{Type: api.Added, Object: obj("ns", n, rv, "n"), RV: rv}
	}
	return evs
}

// Three configmaps-like objects created one by one, then removed in one
// revision: every DELETED is in the ring with the revision's RV, a watch
// from before the revision gets all three, and the state at the revision
// and after it is empty, the state before it full.
func TestApply_OneRevisionManyEvents(t *testing.T) {
	w := mustNew(t, Config{MinCapacity: 8, MaxCapacity: 8, CheckpointEvery: 2})
	w.Replace(nil, 10, t0)
	a, b, c := obj("ns", "a", 11, "n"), obj("ns", "b", 12, "n"), obj("ns", "c", 13, "n")
	for _, o := range []*api.Object{a, b, c} {
		mustAppend(t, w, &api.Event{Type: api.Added, Object: o, RV: o.RV}, t0)
	}
	del := deleteAll([]*api.Object{a, b, c}, 14)
	if err := w.Apply(del, t0); err != nil {
		t.Fatal(err)
	}
	if err := w.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	if w.RV() != 14 {
		t.Fatalf("cache RV %d, want 14", w.RV())
	}
	from, err := w.IndexAfter(13)
	if err != nil {
		t.Fatal(err)
	}
	var dst [8]*api.Event
	n, err := w.CopyEvents(from, dst[:])
	if err != nil || n != 3 || dst[0] != del[0] || dst[1] != del[1] || dst[2] != del[2] {
		t.Fatalf("CopyEvents after 13 = %d %v: %v", n, err, dst[:n])
	}
	if i, _ := w.IndexAfter(14); i != from+3 {
		t.Fatalf("IndexAfter(14) = %d, want the end %d", i, from+3)
	}
	for rv, want := range map[uint64]string{13: "/registry/pods/ns/a@11 /registry/pods/ns/b@12 /registry/pods/ns/c@13 ", 14: "", 20: ""} {
		s, err := w.Snapshot(rv)
		if err != nil {
			t.Fatal(err)
		}
		if got := fingerprint(collect(s, "", "")); got != want {
			t.Errorf("Snapshot(%d) = %q, want %q", rv, got, want)
		}
	}
}

// A checkpoint is never taken inside a revision: with CheckpointEvery 2, a
// revision of three events gets one checkpoint, after its last event.
func TestApply_CheckpointAfterWholeRevision(t *testing.T) {
	w := mustNew(t, Config{MinCapacity: 8, MaxCapacity: 8, CheckpointEvery: 2})
	w.Replace(nil, 10, t0)
	if err := w.Apply(createAll(11, "a", "b", "c"), t0); err != nil {
		t.Fatal(err)
	}
	if err := w.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Snapshots != 2 {
		t.Fatalf("checkpoints %d, want 2 (the relist and the end of RV 11)", st.Snapshots)
	}
	if cp := w.hist.checkpointAt(11); cp == nil || cp.st.objs.Len() != 3 {
		t.Fatalf("checkpoint at 11 = %v, want one holding all three objects", cp)
	}
}

// A revision larger than the ring loses its oldest events to eviction: the
// oldest servable RV becomes the revision's, so a watch from before it is
// refused (410) instead of getting half of it.
func TestApply_RevisionLargerThanRing_B32(t *testing.T) {
	w := mustNew(t, Config{MinCapacity: 2, MaxCapacity: 2})
	w.Replace(nil, 10, t0)
	if err := w.Apply(createAll(11, "a", "b", "c"), t0); err != nil {
		t.Fatal(err)
	}
	if err := w.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.IndexAfter(10); !errors.Is(err, api.ErrExpired) {
		t.Fatalf("IndexAfter(10) = %v, want expired", err)
	}
	if st := w.Stats(); st.OldestRV != 11 || st.RingLen != 2 {
		t.Fatalf("stats %+v, want oldest 11 and 2 events", st)
	}
	s, err := w.Snapshot(11)
	if err != nil || s.Len() != 3 {
		t.Fatalf("Snapshot(11) = %v, %v; want all three objects", s, err)
	}
}

// Apply refuses, changing nothing, a batch that starts at or below the
// cache RV, goes backwards, is empty or has a bad event.
func TestApply_RejectsBadBatches(t *testing.T) {
	w := mustNew(t, Config{})
	w.Replace(nil, 10, t0)
	a := obj("ns", "a", 12, "n")
	add := func(rv uint64) *api.Event { return &api.Event{Type: api.Added, Object: a.WithRV(rv), RV: rv} }
	for name, evs := range map[string][]*api.Event{
		"empty":         nil,
		"at cache RV":   {add(10)},
		"backwards":     {add(12), add(11)},
		"nil object":    {add(12), {Type: api.Added, RV: 12}},
		"bookmark type": {add(12), {Type: api.Bookmark, Object: a, RV: 12}},
	} {
		err := w.Apply(evs, t0)
		if !errors.Is(err, ErrOutOfOrder) {
			t.Errorf("%s: Apply = %v, want ErrOutOfOrder", name, err)
		}
		if st := w.Stats(); st.RV != 10 || st.RingLen != 0 || st.Objects != 0 {
			t.Errorf("%s: the cache changed: %+v", name, st)
		}
	}
}
