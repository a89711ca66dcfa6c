package watchcache

import (
	"errors"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

func TestConfigValidate(t *testing.T) {
	var c Config
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.MinCapacity != 100 || c.MaxCapacity != 102400 || c.Window != 75*time.Second || c.MaxBytes != 256<<20 {
		t.Fatalf("defaults: %+v", c)
	}
	for _, bad := range []Config{
		{MinCapacity: -1},
		{MinCapacity: 10, MaxCapacity: 5},
		{Window: -time.Second},
		{MaxBytes: -1},
		{CheckpointEvery: -1},
		{IndexedFields: []string{"a", "a"}},
		{IndexedFields: []string{""}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// B32: an empty ring after a list at L serves watches from L on, not before.
func TestEmptyRing_ServesWatchesFromListRV_B32(t *testing.T) {
	w := mustNew(t, Config{})
	w.Replace(nil, 10, t0)
	if err := w.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	idx, err := w.IndexAfter(10)
	if err != nil || idx != st.EndIndex {
		t.Fatalf("IndexAfter(10) = %d, %v; want %d", idx, err, st.EndIndex)
	}
	if idx, err := w.IndexAfter(1000); err != nil || idx != st.EndIndex {
		t.Fatalf("IndexAfter(future) = %d, %v", idx, err)
	}
	_, err = w.IndexAfter(9)
	if !errors.Is(err, api.ErrExpired) || err.Error() != "too old resource version: 9 (10)" {
		t.Fatalf("IndexAfter(9) = %v", err)
	}
	var dst [4]*api.Event
	if n, err := w.CopyEvents(idx, dst[:]); n != 0 || err != nil {
		t.Fatalf("CopyEvents = %d, %v", n, err)
	}
	if s, err := w.Snapshot(10); err != nil || s.Len() != 0 || s.RV() != 10 {
		t.Fatalf("Snapshot(10) = %v, %v", s, err)
	}
	if _, err := w.Snapshot(9); !errors.Is(err, api.ErrExpired) {
		t.Fatalf("Snapshot(9) = %v", err)
	}
}

func TestAppendRejectsOutOfOrder(t *testing.T) {
	w := mustNew(t, Config{})
	w.Replace(nil, 10, t0)
	for _, ev := range []*api.Event{
		{Type: api.Added, Object: obj("a", "b", 10, ""), RV: 10},
		{Type: api.Added, Object: obj("a", "b", 5, ""), RV: 5},
		{Type: api.Bookmark, Object: obj("a", "b", 11, ""), RV: 11},
	} {
		if err := w.Append(ev, t0); !errors.Is(err, ErrOutOfOrder) {
			t.Errorf("Append(%s %d) = %v", ev.Type, ev.RV, err)
		}
	}
	if w.RV() != 10 || w.Stats().RingLen != 0 {
		t.Fatalf("state changed: %+v", w.Stats())
	}
}

// B32: exactly full ring, then one more event evicts the oldest and moves
// the oldest servable RV to it.
func TestExactlyFullRing_EvictionMovesOldestServable_B32(t *testing.T) {
	w := mustNew(t, Config{MinCapacity: 4, MaxCapacity: 4, CheckpointEvery: 1})
	w.Replace(nil, 100, t0)
	m := newModel(1, 10, 100)
	for range 4 {
		mustAppend(t, w, m.next(), t0)
	}
	st := w.Stats()
	if st.RingLen != 4 || st.RingCap != 4 || st.OldestRV != 100 || st.Snapshots != 5 {
		t.Fatalf("full ring: %+v", st)
	}
	if i, err := w.IndexAfter(100); err != nil || i != st.StartIndex {
		t.Fatalf("IndexAfter(100) = %d, %v", i, err)
	}
	mustAppend(t, w, m.next(), t0)
	st = w.Stats()
	e := m.events[0].RV
	if st.RingLen != 4 || st.OldestRV != e || st.OldestSnapshotRV != e || st.Snapshots != 5 {
		t.Fatalf("after eviction: %+v (evicted RV %d)", st, e)
	}
	if _, err := w.IndexAfter(e - 1); !errors.Is(err, api.ErrExpired) {
		t.Fatalf("IndexAfter(%d) = %v", e-1, err)
	}
	if i, err := w.IndexAfter(e); err != nil || i != st.StartIndex {
		t.Fatalf("IndexAfter(%d) = %d, %v; want %d", e, i, err, st.StartIndex)
	}
	var dst [8]*api.Event
	n, err := w.CopyEvents(st.StartIndex-1, dst[:])
	var ie *IndexExpiredError
	if n != 0 || !errors.As(err, &ie) || !errors.Is(err, api.ErrExpired) || ie.Oldest != e {
		t.Fatalf("CopyEvents(start-1) = %d, %v", n, err)
	}
	n, err = w.CopyEvents(st.StartIndex, dst[:])
	if n != 4 || err != nil || dst[0] != m.events[1] || dst[3] != m.events[4] {
		t.Fatalf("CopyEvents(start) = %d, %v", n, err)
	}
	if s, err := w.Snapshot(e); err != nil || s.RV() != e {
		t.Fatalf("Snapshot(%d) = %v, %v", e, s, err)
	}
}

// The ring doubles while every event is inside the window, stops at
// MaxCapacity, and halves once few events are inside the window.
func TestResize(t *testing.T) {
	w := mustNew(t, Config{MinCapacity: 4, MaxCapacity: 16, Window: 10 * time.Second, CheckpointEvery: 1})
	w.Replace(nil, 1, t0)
	m := newModel(2, 50, 1)
	wantCaps := map[int]int{4: 4, 5: 8, 9: 16, 17: 16, 30: 16}
	for i := 1; i <= 30; i++ {
		mustAppend(t, w, m.next(), t0)
		if c, ok := wantCaps[i]; ok && w.Stats().RingCap != c {
			t.Fatalf("after %d events: cap %d, want %d", i, w.Stats().RingCap, c)
		}
	}
	if st := w.Stats(); st.RingLen != 16 || st.OldestRV != m.events[13].RV {
		t.Fatalf("at max: %+v", st)
	}
	// Time moves past the window: only the new event is fresh, so each
	// append on a full ring halves it, down to MinCapacity.
	later := t0.Add(time.Minute)
	mustAppend(t, w, m.next(), later)
	if st := w.Stats(); st.RingCap != 8 || st.RingLen != 8 {
		t.Fatalf("after first shrink: %+v", st)
	}
	for range 20 {
		later = later.Add(time.Minute)
		mustAppend(t, w, m.next(), later)
	}
	if st := w.Stats(); st.RingCap != 4 || st.RingLen != 4 || st.Snapshots != 5 {
		t.Fatalf("after shrinking: %+v", st)
	}
}

// A clock that goes backwards does not break the time order of the ring.
func TestClockBackwards(t *testing.T) {
	w := mustNew(t, Config{MinCapacity: 2, MaxCapacity: 8, Window: time.Second})
	w.Replace(nil, 1, t0)
	m := newModel(3, 5, 1)
	for i := range 20 {
		mustAppend(t, w, m.next(), t0.Add(time.Duration(10-i)*time.Second))
	}
}

func TestMaxBytes(t *testing.T) {
	w := mustNew(t, Config{MinCapacity: 64, MaxCapacity: 64, MaxBytes: 1, CheckpointEvery: 1})
	w.Replace(nil, 1, t0)
	m := newModel(4, 5, 1)
	for i := range 10 {
		mustAppend(t, w, m.next(), t0)
		st := w.Stats()
		wantOldest := uint64(1)
		if i > 0 {
			wantOldest = m.events[i-1].RV
		}
		if st.RingLen != 1 || st.OldestRV != wantOldest || st.Snapshots != 2 || st.RingBytes != eventSize(m.events[i]) {
			t.Fatalf("event %d: %+v, want oldest %d", i, st, wantOldest)
		}
	}
}

// Relist: indexes never move backwards, every position before it is
// expired, and the history restarts at L.
func TestReplaceResetsRing(t *testing.T) {
	w := mustNew(t, Config{MinCapacity: 4, MaxCapacity: 8})
	w.Replace(nil, 1, t0)
	m := newModel(5, 10, 1)
	for range 6 {
		mustAppend(t, w, m.next(), t0)
	}
	before := w.Stats()
	objs := m.sorted("")
	w.Replace(objs, 500, t0)
	if err := w.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.StartIndex != before.EndIndex+1 || st.EndIndex != st.StartIndex || st.RingLen != 0 || st.RingBytes != 0 ||
		st.OldestRV != 500 || st.RV != 500 || st.Snapshots != 1 || st.Objects != len(objs) {
		t.Fatalf("after Replace: %+v (before %+v)", st, before)
	}
	var dst [4]*api.Event
	if _, err := w.CopyEvents(before.EndIndex, dst[:]); !errors.Is(err, api.ErrExpired) {
		t.Fatalf("caught-up position after Replace: %v", err)
	}
	if _, err := w.IndexAfter(499); !errors.Is(err, api.ErrExpired) {
		t.Fatalf("IndexAfter(499) = %v", err)
	}
	if _, err := w.Snapshot(before.RV); !errors.Is(err, api.ErrExpired) {
		t.Fatalf("Snapshot(%d) = %v", before.RV, err)
	}
	if got := keysOf(collect(w.Latest(), "", "")); !equalStrings(got, keysOf(objs)) {
		t.Fatalf("store after Replace: %v, want %v", got, keysOf(objs))
	}
}

func TestProgressAndChanged(t *testing.T) {
	w := mustNew(t, Config{})
	w.Replace(nil, 5, t0)
	ch := w.Changed()
	w.Progress(4)
	select {
	case <-ch:
		t.Fatal("Changed fired on a no-op Progress")
	default:
	}
	w.Progress(9)
	select {
	case <-ch:
	default:
		t.Fatal("Changed did not fire on Progress")
	}
	if w.RV() != 9 || w.Latest().RV() != 9 {
		t.Fatalf("RV %d, Latest %d", w.RV(), w.Latest().RV())
	}
	if err := w.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	ch = w.Changed()
	mustAppend(t, w, &api.Event{Type: api.Added, Object: obj("a", "b", 12, ""), RV: 12}, t0)
	select {
	case <-ch:
	default:
		t.Fatal("Changed did not fire on Append")
	}
	// Snapshot between the progress RV and the next event shows the state
	// before the event; at or beyond the cache RV it is the latest.
	if s, _ := w.Snapshot(10); s.RV() != 5 || s.Len() != 0 {
		t.Fatalf("Snapshot(10) = RV %d len %d", s.RV(), s.Len())
	}
	if s, _ := w.Snapshot(100); s.RV() != 12 || s.Len() != 1 {
		t.Fatalf("Snapshot(100) = RV %d len %d", s.RV(), s.Len())
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
