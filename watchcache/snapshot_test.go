package watchcache

import (
	"errors"
	"fmt"
	"testing"

	"github.com/watchcached/watchcached/api"
)

// Every RV in the window reads exactly the replayed model's state: through
// Get, Ascend (with prefixes and start keys), CountFrom and every index.
func TestSnapshotAtEveryRVMatchesModel_B13(t *testing.T) {
	for _, every := range []int{1, 3, 32} {
		t.Run(fmt.Sprintf("CheckpointEvery=%d", every), func(t *testing.T) { testSnapshotAtEveryRV(t, every) })
	}
}

func testSnapshotAtEveryRV(t *testing.T, every int) {
	w := mustNew(t, Config{MinCapacity: 64, MaxCapacity: 64, IndexedFields: []string{"spec.nodeName", "metadata.namespace"}, CheckpointEvery: every})
	m := newModel(6, 40, 100)
	w.Replace(nil, 100, t0)
	states := map[uint64][]*api.Object{100: nil}
	for range 300 {
		ev := m.next()
		mustAppend(t, w, ev, t0)
		states[ev.RV] = m.sorted("")
	}
	oldest := w.Stats().OldestRV
	for rv := uint64(90); rv <= m.rv+2; rv++ {
		s, err := w.Snapshot(rv)
		if rv < oldest {
			if !errors.Is(err, api.ErrExpired) {
				t.Fatalf("Snapshot(%d) below oldest %d: %v", rv, oldest, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Snapshot(%d): %v", rv, err)
		}
		r := min(rv, m.rv)
		for _, ok := states[r]; !ok; _, ok = states[r] { // RV gaps: the newest event below
			r--
		}
		want := states[r]
		if _, ok := states[rv]; !ok && rv <= m.rv && s.RV() >= rv {
			t.Fatalf("Snapshot(%d) has RV %d", rv, s.RV())
		}
		checkSnapshot(t, s, want)
	}
}

func checkSnapshot(t *testing.T, s *Snapshot, want []*api.Object) {
	t.Helper()
	if got := collect(s, "", ""); !equalStrings(keysOf(got), keysOf(want)) {
		t.Fatalf("RV %d: keys %v, want %v", s.RV(), keysOf(got), keysOf(want))
	}
	if s.Len() != len(want) || s.CountFrom("", "") != len(want) {
		t.Fatalf("RV %d: Len %d CountFrom %d, want %d", s.RV(), s.Len(), s.CountFrom("", ""), len(want))
	}
	for _, o := range want {
		if got, ok := s.Get(o.Key); !ok || got != o {
			t.Fatalf("RV %d: Get(%s) = %v, %v", s.RV(), o.Key, got, ok)
		}
	}
	for _, prefix := range []string{"", podPrefix, podPrefix + "ns1/", podPrefix + "ns10/", podPrefix + "ns1"} {
		all := filter(want, func(o *api.Object) bool { return len(o.Key) >= len(prefix) && o.Key[:len(prefix)] == prefix })
		for _, start := range []string{"", podPrefix + "ns1/p1", podPrefix + "ns3/p30", podPrefix + "zz"} {
			from := filter(all, func(o *api.Object) bool { return o.Key >= start })
			if got := collect(s, prefix, start); !equalStrings(keysOf(got), keysOf(from)) {
				t.Fatalf("RV %d Ascend(%q,%q) = %v, want %v", s.RV(), prefix, start, keysOf(got), keysOf(from))
			}
			if n := s.CountFrom(prefix, start); n != len(from) {
				t.Fatalf("RV %d CountFrom(%q,%q) = %d, want %d", s.RV(), prefix, start, n, len(from))
			}
			for _, f := range []string{"spec.nodeName", "metadata.namespace"} {
				for _, v := range []string{"node0", "node3", "ns1", "ns10", ""} {
					exp := filter(from, func(o *api.Object) bool { return o.Fields[f] == v })
					var got []*api.Object
					if !s.AscendIndex(f, v, prefix, start, func(o *api.Object) bool { got = append(got, o); return true }) {
						t.Fatalf("%s not indexed", f)
					}
					if !equalStrings(keysOf(got), keysOf(exp)) {
						t.Fatalf("RV %d AscendIndex(%s=%s,%q,%q) = %v, want %v", s.RV(), f, v, prefix, start, keysOf(got), keysOf(exp))
					}
				}
			}
		}
	}
	if s.AscendIndex("metadata.name", "x", "", "", func(*api.Object) bool { return true }) {
		t.Fatal("AscendIndex on a field without an index returned true")
	}
}

func filter(objs []*api.Object, keep func(*api.Object) bool) []*api.Object {
	var out []*api.Object
	for _, o := range objs {
		if keep(o) {
			out = append(out, o)
		}
	}
	return out
}

// B26: a namespace prefix with its slash never matches a longer namespace.
func TestAscendPrefix_NamespaceNeverMatchesLongerOne_B26(t *testing.T) {
	w := mustNew(t, Config{IndexedFields: []string{"spec.nodeName"}})
	var objs []*api.Object
	for _, ns := range []string{"ns1", "ns10", "ns2", "ns1a"} {
		for i := range 3 {
			objs = append(objs, obj(ns, fmt.Sprintf("p%d", i), 2, "n"))
		}
	}
	w.Replace(objs, 2, t0)
	s := w.Latest()
	got := keysOf(collect(s, podPrefix+"ns1/", ""))
	want := []string{podPrefix + "ns1/p0", podPrefix + "ns1/p1", podPrefix + "ns1/p2"}
	if !equalStrings(got, want) {
		t.Fatalf("Ascend(ns1/) = %v", got)
	}
	if n := s.CountFrom(podPrefix+"ns1/", podPrefix+"ns1/p1"); n != 2 {
		t.Fatalf("CountFrom = %d", n)
	}
	var idx []string
	s.AscendIndex("spec.nodeName", "n", podPrefix+"ns1/", "", func(o *api.Object) bool { idx = append(idx, o.Key); return true })
	if !equalStrings(idx, want) {
		t.Fatalf("AscendIndex(ns1/) = %v", idx)
	}
	// A start key before the prefix starts at the prefix; fn stops early.
	n := 0
	s.Ascend(podPrefix+"ns10/", podPrefix+"a", func(*api.Object) bool { n++; return n < 2 })
	if n != 2 {
		t.Fatalf("early stop: %d calls", n)
	}
}

// Compact keeps the newest snapshot at or below the revision and drops the
// older ones; snapshots before it are expired, the ring is untouched.
func TestCompact(t *testing.T) {
	for _, every := range []int{1, 2, 32} {
		t.Run(fmt.Sprintf("CheckpointEvery=%d", every), func(t *testing.T) { testCompact(t, every) })
	}
}

func testCompact(t *testing.T, every int) {
	w := mustNew(t, Config{CheckpointEvery: every})
	w.Replace(nil, 10, t0)
	for rv := uint64(11); rv <= 20; rv += 2 { // 11 13 15 17 19
		mustAppend(t, w, &api.Event{Type: api.Added, Object: obj("a", fmt.Sprint(rv), rv, ""), RV: rv}, t0)
	}
	w.Compact(16)
	if err := w.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.OldestSnapshotRV != 15 || st.RingLen != 5 || st.OldestRV != 10 || (every == 1 && st.Snapshots != 3) {
		t.Fatalf("after Compact(16): %+v", st)
	}
	if s, err := w.Snapshot(16); err != nil || s.RV() != 15 || s.Len() != 3 {
		t.Fatalf("Snapshot(16) = %v, %v", s, err)
	}
	if _, err := w.Snapshot(14); !errors.Is(err, api.ErrExpired) || err.Error() != "too old resource version: 14 (15)" {
		t.Fatalf("Snapshot(14) = %v", err)
	}
	w.Compact(1000)
	if err := w.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.OldestSnapshotRV != 19 || (every == 1 && st.Snapshots != 1) {
		t.Fatalf("after Compact(1000): %+v", st)
	}
	if s, err := w.Snapshot(19); err != nil || s.RV() != 19 || s.Len() != 5 {
		t.Fatalf("Snapshot(19) = %v, %v", s, err)
	}
}

// Snapshots are immutable: later writes do not show in an older snapshot.
func TestSnapshotIsolation(t *testing.T) {
	w := mustNew(t, Config{IndexedFields: []string{"spec.nodeName"}})
	w.Replace([]*api.Object{obj("a", "x", 5, "n1")}, 5, t0)
	s5 := w.Latest()
	mustAppend(t, w, &api.Event{Type: api.Modified, Object: obj("a", "x", 6, "n2"), RV: 6}, t0)
	mustAppend(t, w, &api.Event{Type: api.Added, Object: obj("a", "y", 7, "n2"), RV: 7}, t0)
	if o, _ := s5.Get(podPrefix + "a/x"); o.RV != 5 || s5.Len() != 1 {
		t.Fatalf("old snapshot changed: %v len %d", o, s5.Len())
	}
	var n2 int
	s5.AscendIndex("spec.nodeName", "n2", "", "", func(*api.Object) bool { n2++; return true })
	if n2 != 0 {
		t.Fatalf("old snapshot index shows %d objects on n2", n2)
	}
	w.Latest().AscendIndex("spec.nodeName", "n2", "", "", func(*api.Object) bool { n2++; return true })
	if n2 != 2 {
		t.Fatalf("latest index shows %d objects on n2", n2)
	}
}

// Checkpoints come every CheckpointEvery events, and after every event
// while readers keep asking for the latest state.
func TestCheckpointCadence(t *testing.T) {
	w := mustNew(t, Config{CheckpointEvery: 4})
	w.Replace(nil, 10, t0)
	m := newModel(9, 10, 10)
	for range 8 {
		mustAppend(t, w, m.next(), t0)
	}
	if st := w.Stats(); st.Snapshots != 3 {
		t.Fatalf("without readers: %d checkpoints, want 3", st.Snapshots)
	}
	mustAppend(t, w, m.next(), t0) // not a checkpoint
	for range 3 {
		before := w.Stats().Snapshots
		if s := w.Latest(); s.RV() != m.rv || fingerprint(collect(s, "", "")) != fingerprint(m.sorted("")) {
			t.Fatalf("Latest at %d differs from the model", m.rv)
		}
		mustAppend(t, w, m.next(), t0)
		if got := w.Stats().Snapshots; got != before+1 {
			t.Fatalf("after a Latest: %d checkpoints, want %d", got, before+1)
		}
	}
	before := w.Stats().Snapshots
	mustAppend(t, w, m.next(), t0) // nobody read the previous state
	if got := w.Stats().Snapshots; got != before {
		t.Fatalf("without a reader: %d checkpoints, want %d", got, before)
	}
}

// TestCountFromEitherSide_B186: CountFrom over a store larger than its
// walks' first budgets gives the exact count at every position, whether
// the prefix covers every object (counted from the shorter side, or on from
// the previous count) or not; and along a paginated walk, where each count
// goes on from the one before.
func TestCountFromEitherSide_B186(t *testing.T) {
	const n = 3000
	objs := benchObjects(n)
	w := mustNew(t, Config{})
	w.Replace(objs, uint64(n), t0)
	s := w.Latest()
	sorted := collect(s, "", "")
	for _, at := range []int{0, 1, countStep - 1, countStep, countStep + 1, 1000, n / 2, n - 1000, n - countStep - 1, n - countStep, n - 1, 2, n / 3} {
		key := sorted[at].Key
		for _, tc := range []struct {
			prefix, start string
			want          int
		}{
			{podPrefix, key, n - at},
			{"", key, n - at},
			{podPrefix, key + "\x00", n - at - 1},
			{podPrefix, podPrefix + "zz", 0},
		} {
			if got := s.CountFrom(tc.prefix, tc.start); got != tc.want {
				t.Errorf("CountFrom(%q, %q) at %d = %d, want %d", tc.prefix, tc.start, at, got, tc.want)
			}
		}
	}
	for at := 0; at < n; at += 100 { // pages of 100: each count goes on from the last
		if got := s.CountFrom(podPrefix, sorted[at].Key); got != n-at {
			t.Fatalf("paginated CountFrom at %d = %d, want %d", at, got, n-at)
		}
	}
	for _, ns := range []string{"ns01/", "ns03/"} {
		in := collect(s, podPrefix+ns, "")
		for _, at := range []int{0, len(in) / 2, len(in) - 1} {
			if got := s.CountFrom(podPrefix+ns, in[at].Key); got != len(in)-at {
				t.Errorf("CountFrom(%s) at %d = %d, want %d", ns, at, got, len(in)-at)
			}
		}
	}
}
