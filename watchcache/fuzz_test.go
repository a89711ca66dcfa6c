package watchcache

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

// fuzzCache replays ops (one byte each) on a small cache and a model of the
// absolute indexes: append (with a time step), relist, compact, progress.
type fuzzCache struct {
	w     *WatchCache
	rv    uint64
	now   time.Time
	next  uint64                // the model's next absolute index
	byIdx map[uint64]*api.Event // every event ever appended, by the model's index
	cur   map[string]*api.Object
	rvs   []uint64          // state RVs since the last relist, ascending
	state map[uint64]string // their fingerprints
}

func newFuzzCache(t *testing.T, minCap, maxCap uint8, maxBytes uint16) *fuzzCache {
	lo := 1 + int(minCap%4)
	cfg := Config{MinCapacity: lo, MaxCapacity: lo + int(maxCap%40), Window: 3 * time.Second,
		MaxBytes: 1 + int64(maxBytes)*4, CheckpointEvery: 1 + int(maxCap/40)}
	f := &fuzzCache{w: mustNew(t, cfg), rv: 10, now: t0, byIdx: map[uint64]*api.Event{}}
	f.relist()
	f.next = f.w.Stats().EndIndex
	return f
}

func (f *fuzzCache) relist() {
	f.w.Replace(nil, f.rv, f.now)
	f.cur, f.rvs, f.state = map[string]*api.Object{}, []uint64{f.rv}, map[uint64]string{f.rv: ""}
}

func (f *fuzzCache) applied(ev *api.Event) {
	f.cur[ev.Object.Key] = ev.Object
	objs := make([]*api.Object, 0, len(f.cur))
	for _, o := range f.cur {
		objs = append(objs, o)
	}
	slices.SortFunc(objs, func(a, b *api.Object) int { return strings.Compare(a.Key, b.Key) })
	f.rvs = append(f.rvs, ev.RV)
	f.state[ev.RV] = fingerprint(objs)
}

// checkState compares Snapshot(q) with the model's newest state <= q.
func (f *fuzzCache) checkState(t *testing.T, q uint64) {
	s, err := f.w.Snapshot(q)
	floor := f.w.Stats().OldestSnapshotRV
	if q < floor {
		if !errors.Is(err, api.ErrExpired) {
			t.Fatalf("Snapshot(%d) below floor %d: %v", q, floor, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Snapshot(%d): %v", q, err)
	}
	want := f.rvs[0]
	for _, r := range f.rvs {
		if r <= q {
			want = r
		}
	}
	wantRV := want
	if q >= f.rv {
		wantRV = f.rv // Latest carries the cache RV
	}
	if s.RV() != wantRV {
		t.Fatalf("Snapshot(%d).RV() = %d, want state %d", q, s.RV(), want)
	}
	if got := fingerprint(collect(s, "", "")); got != f.state[want] {
		t.Fatalf("Snapshot(%d) = %q, model %q", q, got, f.state[want])
	}
}

func (f *fuzzCache) step(t *testing.T, op byte) {
	switch {
	case op < 200: // append, time advancing by 0..9 x 500ms
		f.rv += 1 + uint64(op%3)
		f.now = f.now.Add(time.Duration(op%10) * 500 * time.Millisecond)
		ev := &api.Event{Type: api.Added, Object: obj("ns", fmt.Sprint(op%16), f.rv, ""), RV: f.rv}
		if err := f.w.Append(ev, f.now); err != nil {
			t.Fatal(err)
		}
		f.byIdx[f.next] = ev
		f.next++
		f.applied(ev)
	case op < 210:
		f.rv += uint64(op % 5)
		f.relist()
		f.next++ // a relist skips one index
	case op < 230:
		f.w.Compact(f.rv - uint64(op%8))
	default:
		f.rv += uint64(op % 4)
		f.w.Progress(f.rv)
	}
}

// check verifies invariants and that every index in [start, end) holds the
// model's event, that the index before start is expired and end is empty.
func (f *fuzzCache) check(t *testing.T) {
	if err := f.w.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	st := f.w.Stats()
	if st.EndIndex != f.next {
		t.Fatalf("end index %d, model %d", st.EndIndex, f.next)
	}
	dst := make([]*api.Event, 3)
	for i := st.StartIndex; i < st.EndIndex; i += 3 {
		n, err := f.w.CopyEvents(i, dst)
		if err != nil || n != int(min(3, st.EndIndex-i)) {
			t.Fatalf("CopyEvents(%d) = %d, %v", i, n, err)
		}
		for k := range n {
			if dst[k] != f.byIdx[i+uint64(k)] {
				t.Fatalf("index %d holds RV %d, model RV %d", i+uint64(k), dst[k].RV, f.byIdx[i+uint64(k)].RV)
			}
		}
	}
	if n, err := f.w.CopyEvents(st.EndIndex, dst); n != 0 || err != nil {
		t.Fatalf("CopyEvents(end) = %d, %v", n, err)
	}
	for _, q := range []uint64{st.OldestSnapshotRV - 1, st.OldestSnapshotRV, (st.OldestSnapshotRV + f.rv) / 2, f.rv - 1, f.rv, f.rv + 5} {
		f.checkState(t, q)
	}
	if st.StartIndex > 0 {
		if _, err := f.w.CopyEvents(st.StartIndex-1, dst); !errors.Is(err, api.ErrExpired) {
			t.Fatalf("CopyEvents(start-1) = %v", err)
		}
	}
}

// FuzzRingIndex checks the ring's absolute-index arithmetic across wrap
// around, growth, shrinking, byte eviction and relists.
func FuzzRingIndex(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint16(1000), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(uint8(1), uint8(7), uint16(60), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 205, 1, 1, 1})
	f.Add(uint8(3), uint8(39), uint16(9999), []byte{100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 9})
	f.Add(uint8(2), uint8(5), uint16(500), []byte{0, 210, 0, 229, 0, 250, 0, 201, 9, 19, 29, 39, 49, 59, 69, 79, 89})
	f.Fuzz(func(t *testing.T, minCap, maxCap uint8, maxBytes uint16, ops []byte) {
		fc := newFuzzCache(t, minCap, maxCap, maxBytes)
		for _, op := range ops {
			fc.step(t, op)
			fc.check(t)
		}
	})
}

// FuzzIndexAfter checks the RV search against a linear scan, and the
// oldest-servable rule (B32), for every RV around the ring's contents.
func FuzzIndexAfter(f *testing.F) {
	f.Add(uint8(2), []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
	f.Add(uint8(0), []byte{3, 0, 2, 0, 1})
	f.Add(uint8(9), []byte{50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Fuzz(func(t *testing.T, capacity uint8, gaps []byte) {
		c := 1 + int(capacity%16)
		w := mustNew(t, Config{MinCapacity: c, MaxCapacity: c})
		w.Replace(nil, 5, t0)
		rv := uint64(5)
		var evs []*api.Event
		for _, g := range gaps {
			rv += 1 + uint64(g%8)
			ev := &api.Event{Type: api.Added, Object: obj("a", "b", rv, ""), RV: rv}
			if err := w.Append(ev, t0); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
		st := w.Stats()
		kept := evs[len(evs)-st.RingLen:]
		for q := uint64(0); q <= rv+2; q++ {
			idx, err := w.IndexAfter(q)
			if q < st.OldestRV {
				if !errors.Is(err, api.ErrExpired) {
					t.Fatalf("IndexAfter(%d) below oldest %d: %v", q, st.OldestRV, err)
				}
				continue
			}
			want := st.StartIndex
			for _, ev := range kept {
				if ev.RV <= q {
					want++
				}
			}
			if err != nil || idx != want {
				t.Fatalf("IndexAfter(%d) = %d, %v; want %d", q, idx, err, want)
			}
		}
	})
}
