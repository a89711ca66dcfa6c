package interval

import (
	"fmt"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
)

// BenchmarkIntervalFromPast starts an interval at the oldest servable RV of
// a history of the given length: bytes and allocations must not depend on
// the length (only the binary search does, logarithmically).
func BenchmarkIntervalFromPast(b *testing.B) {
	for _, h := range []int{1000, 10000, 100000, 1000000} {
		b.Run(fmt.Sprintf("History=%d", h), func(b *testing.B) {
			w := newCache(b, watchcache.Config{MinCapacity: h, MaxCapacity: h, MaxBytes: 1 << 40}, 100)
			// Few objects shared by many events keep the history cheap;
			// Compact drops the snapshots, which this benchmark does not need.
			objs := make([]*api.Object, 100)
			for i := range objs {
				objs[i] = obj("ns", fmt.Sprintf("p%d", i), 1, "n")
			}
			rv := uint64(100)
			for i := range h + 1 {
				rv++
				if err := w.Append(&api.Event{Type: api.Modified, Object: objs[i%len(objs)], RV: rv}, t0); err != nil {
					b.Fatal(err)
				}
				if i%4096 == 0 {
					w.Compact(rv)
				}
			}
			from := w.Stats().OldestRV
			if w.Stats().RingLen != h {
				b.Fatalf("history %d", w.Stats().RingLen)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(w, from); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIntervalDrain hands out a whole history of 100000 events through
// one interval: the per-event cost of refills.
func BenchmarkIntervalDrain(b *testing.B) {
	const h = 100000
	w := newCache(b, watchcache.Config{MinCapacity: h, MaxCapacity: h, MaxBytes: 1 << 40}, 100)
	o := obj("ns", "p", 1, "n")
	for i := range h {
		if err := w.Append(&api.Event{Type: api.Modified, Object: o, RV: uint64(101 + i)}, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		it, _ := New(w, 100)
		n := 0
		for ev, _ := it.Next(); ev != nil; ev, _ = it.Next() {
			n++
		}
		if n != h {
			b.Fatalf("drained %d", n)
		}
	}
}
