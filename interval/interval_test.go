package interval

import (
	"errors"
	"fmt"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
)

// B31: every event after the start RV, in order; caught up gives (nil, nil)
// until the next append.
func TestIntervalFromRV_EveryLaterEventInOrder_B31(t *testing.T) {
	w := newCache(t, watchcache.Config{}, 100)
	evs := events(1, 300, 50, 100)
	appendAll(t, w, evs[:200])
	for _, k := range []int{-1, 0, 57, 199} {
		from := uint64(100)
		if k >= 0 {
			from = evs[k].RV
		}
		it, err := New(w, from)
		if err != nil {
			t.Fatal(err)
		}
		got, err := drain(t, it)
		if err != nil || rvs(got) != rvs(evs[k+1:200]) {
			t.Fatalf("from %d: %v, %s", from, err, rvs(got))
		}
		appendOnce := k == 199
		if appendOnce {
			appendAll(t, w, evs[200:])
			got, err = drain(t, it)
			if err != nil || rvs(got) != rvs(evs[200:]) || it.LastRV() != evs[299].RV {
				t.Fatalf("after append: %v, %s", err, rvs(got))
			}
		}
	}
}

// B31: a start RV in the future only yields events above it, even those
// appended later; an RV gap start (between events) starts after it.
func TestIntervalFutureRV_OnlyLaterEvents_B31(t *testing.T) {
	w := newCache(t, watchcache.Config{}, 100)
	evs := events(2, 50, 10, 100)
	appendAll(t, w, evs[:10])
	it, err := New(w, evs[30].RV)
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := it.Next(); ev != nil || err != nil {
		t.Fatalf("caught-up Next = %v, %v", ev, err)
	}
	appendAll(t, w, evs[10:])
	got, err := drain(t, it)
	if err != nil || rvs(got) != rvs(evs[31:]) {
		t.Fatalf("got %s, %v; want %s", rvs(got), err, rvs(evs[31:]))
	}
}

// B32: a start RV older than the history holds is refused with 410's message.
func TestIntervalTooOld_RefusedAsExpired_B32(t *testing.T) {
	w := newCache(t, watchcache.Config{MinCapacity: 8, MaxCapacity: 8}, 100)
	evs := events(3, 20, 10, 100)
	appendAll(t, w, evs)
	oldest := evs[11].RV // 20 events, 8 kept: evs[12:] in the ring, evs[11] evicted last
	if _, err := New(w, oldest-1); !errors.Is(err, api.ErrExpired) ||
		err.Error() != fmt.Sprintf("too old resource version: %d (%d)", oldest-1, oldest) {
		t.Fatalf("New(%d) = %v", oldest-1, err)
	}
	it, err := New(w, oldest)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := drain(t, it); err != nil || rvs(got) != rvs(evs[12:]) {
		t.Fatalf("from oldest: %s, %v", rvs(got), err)
	}
}

// B43: the ring overtakes an interval in the middle of its buffer: it hands
// out what it already copied, then the expired error, for good.
func TestIntervalEvictedMidBuffer_HandsOutCopiedThenExpires_B43(t *testing.T) {
	w := newCache(t, watchcache.Config{MinCapacity: 8, MaxCapacity: 8}, 100)
	evs := events(4, 40, 10, 100)
	appendAll(t, w, evs[:8])
	it, err := New(w, 100)
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := it.Next(); err != nil || ev != evs[0] {
		t.Fatalf("first Next = %v, %v", ev, err)
	}
	appendAll(t, w, evs[8:40]) // evicts everything the interval has not copied
	got, err := drain(t, it)
	if rvs(got) != rvs(evs[1:8]) {
		t.Fatalf("buffered events: %s, want %s", rvs(got), rvs(evs[1:8]))
	}
	want := fmt.Sprintf("too old resource version: %d (%d)", evs[7].RV, evs[31].RV)
	if !errors.Is(err, api.ErrExpired) || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if _, err2 := it.Next(); err2 != err {
		t.Fatalf("error not sticky: %v", err2)
	}
}

// B61: a relist invalidates intervals opened before it, even caught-up ones.
func TestIntervalAfterReplace_OpenIntervalsExpire_B61(t *testing.T) {
	w := newCache(t, watchcache.Config{}, 100)
	evs := events(5, 20, 10, 100)
	appendAll(t, w, evs[:10])
	caughtUp, _ := New(w, evs[9].RV)
	behind, _ := New(w, 100)
	w.Replace(nil, 1000, t0)
	for _, it := range []*Interval{caughtUp, behind} {
		if got, err := drain(t, it); len(got) != 0 || !errors.Is(err, api.ErrExpired) {
			t.Fatalf("after Replace: %s, %v", rvs(got), err)
		}
	}
	it, err := New(w, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ev := &api.Event{Type: api.Added, Object: obj("a", "b", 1001, ""), RV: 1001}
	appendAll(t, w, []*api.Event{ev})
	if got, err := drain(t, it); err != nil || len(got) != 1 || got[0] != ev {
		t.Fatalf("new interval after Replace: %s, %v", rvs(got), err)
	}
}

// More events than one buffer: refills continue seamlessly, and a resize of
// the ring between refills does not disturb the position.
func TestIntervalRefillAcrossResize(t *testing.T) {
	w := newCache(t, watchcache.Config{MinCapacity: 4, MaxCapacity: 4096}, 100)
	evs := events(6, 1000, 100, 100)
	appendAll(t, w, evs[:3])
	it, _ := New(w, 100)
	var got []*api.Event
	for i := 3; i < len(evs); i += 97 {
		appendAll(t, w, evs[i:min(i+97, len(evs))]) // grows the ring
		part, err := drain(t, it)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, part...)
	}
	if rvs(got) != rvs(evs) {
		t.Fatalf("got %d events, want %d", len(got), len(evs))
	}
}

// Starting an interval allocates the same small amount however long the
// history is: the buffer comes with the first events.
func TestIntervalStartAllocs(t *testing.T) {
	w := newCache(t, watchcache.Config{}, 100)
	appendAll(t, w, events(7, 5000, 500, 100))
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := New(w, 500); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Fatalf("New allocates %v times", allocs)
	}
}
