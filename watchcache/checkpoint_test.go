package watchcache

import (
	"fmt"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
)

// TestOnlyNewestCheckpointKeepsIndexes_B256: of the checkpoints kept, only
// the newest holds the field indexes; the latest state (a checkpoint or
// rebuilt from the newest one) reads through them, a past state scans, and
// both give exactly the model's objects for every indexed field, value,
// prefix and start key. A snapshot taken while its checkpoint was the
// newest keeps its indexes and its contents after later writes.
func TestOnlyNewestCheckpointKeepsIndexes_B256(t *testing.T) {
	w := mustNew(t, Config{MinCapacity: 256, MaxCapacity: 256, IndexedFields: []string{"spec.nodeName", "metadata.namespace"}, CheckpointEvery: 4})
	m := newModel(11, 40, 100)
	var initial []*api.Object
	for i, k := range m.keys[:20] {
		ns, name, _ := strings.Cut(k, "/")
		o := obj(ns, name, 100, fmt.Sprintf("node%d", i%4))
		m.cur[o.Key] = o
		initial = append(initial, o)
	}
	w.Replace(initial, 100, t0)
	held := w.Latest()
	states := map[uint64][]*api.Object{100: m.sorted("")}
	for range 60 {
		ev := m.next()
		mustAppend(t, w, ev, t0)
		states[ev.RV] = m.sorted("")
	}
	if held.st.idx == nil {
		t.Fatal("a snapshot taken at the newest checkpoint lost its indexes")
	}
	checkSnapshot(t, held, states[100])

	w.mu.RLock()
	newest := w.hist.checkpoints[len(w.hist.checkpoints)-1].rv
	kept := len(w.hist.checkpoints)
	w.mu.RUnlock()
	if kept < 10 || newest == m.rv {
		t.Fatalf("%d checkpoints, newest at %d (cache RV %d): want many, the newest before the cache RV", kept, newest, m.rv)
	}
	latest := w.Latest()
	if latest.RV() != m.rv || latest.st.idx == nil {
		t.Fatalf("Latest at %d holds indexes %v, want RV %d with indexes", latest.RV(), latest.st.idx != nil, m.rv)
	}
	checkSnapshot(t, latest, states[m.rv])
	for rv, want := range states {
		s, err := w.Snapshot(rv)
		if err != nil {
			t.Fatalf("Snapshot(%d): %v", rv, err)
		}
		if s.RV() != rv {
			t.Fatalf("Snapshot(%d) has RV %d", rv, s.RV())
		}
		if indexed := s.st.idx != nil; indexed != (rv >= newest) {
			t.Fatalf("Snapshot(%d) holds indexes %v; newest checkpoint at %d", rv, indexed, newest)
		}
		checkSnapshot(t, s, want)
	}
	if err := w.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestRebuildFromCheckpointWithoutIndexes_B256: a state rebuilt from an
// older checkpoint replays its events on a clone without indexes (nothing
// to keep up to date) and answers an indexed read by a scan: an object
// moved to another node, added or deleted after the checkpoint is found
// under its value at that state only.
func TestRebuildFromCheckpointWithoutIndexes_B256(t *testing.T) {
	w := mustNew(t, Config{IndexedFields: []string{"spec.nodeName"}, CheckpointEvery: 3})
	w.Replace([]*api.Object{obj("a", "x", 10, "n1"), obj("a", "y", 10, "n1")}, 10, t0)
	x11 := obj("a", "x", 11, "n2")
	z12 := obj("a", "z", 12, "n2")
	y13 := obj("a", "y", 13, "n1")
	for _, ev := range []*api.Event{
		{Type: api.Modified, Object: x11, RV: 11},
		{Type: api.Added, Object: z12, RV: 12},
		{Type: api.Deleted, Object: y13, RV: 13}, // checkpoint at 13
		{Type: api.Modified, Object: obj("a", "z", 14, "n1"), RV: 14},
		{Type: api.Added, Object: obj("a", "w", 15, "n2"), RV: 15},
		{Type: api.Added, Object: obj("a", "v", 16, "n2"), RV: 16}, // checkpoint at 16
	} {
		mustAppend(t, w, ev, t0)
	}
	onNode := func(s *Snapshot, node string) []string {
		var out []string
		if !s.AscendIndex("spec.nodeName", node, podPrefix, "", func(o *api.Object) bool {
			out = append(out, fmt.Sprintf("%s@%d", o.Name, o.RV))
			return true
		}) {
			t.Fatalf("RV %d: spec.nodeName not accepted", s.RV())
		}
		return out
	}
	for _, tc := range []struct {
		rv     uint64
		n1, n2 string
	}{
		{10, "[x@10 y@10]", "[]"},
		{11, "[y@10]", "[x@11]"},
		{12, "[y@10]", "[x@11 z@12]"},
		{13, "[]", "[x@11 z@12]"},
		{14, "[z@14]", "[x@11]"},
		{15, "[z@14]", "[w@15 x@11]"},
	} {
		s, err := w.Snapshot(tc.rv)
		if err != nil || s.RV() != tc.rv {
			t.Fatalf("Snapshot(%d) = %v, %v", tc.rv, s, err)
		}
		if s.st.idx != nil {
			t.Fatalf("Snapshot(%d) holds indexes; only the newest checkpoint (16) should", tc.rv)
		}
		if got := fmt.Sprint(onNode(s, "n1")); got != tc.n1 {
			t.Errorf("RV %d: n1 = %s, want %s", tc.rv, got, tc.n1)
		}
		if got := fmt.Sprint(onNode(s, "n2")); got != tc.n2 {
			t.Errorf("RV %d: n2 = %s, want %s", tc.rv, got, tc.n2)
		}
	}
	if s := w.Latest(); s.RV() != 16 || s.st.idx == nil || fmt.Sprint(onNode(s, "n2")) != "[v@16 w@15 x@11]" {
		t.Fatalf("Latest: RV %d, indexes %v, n2 %v", s.RV(), s.st.idx != nil, onNode(s, "n2"))
	}
}
