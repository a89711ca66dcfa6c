package watchcache

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

// benchObjects builds n pods spread over 100 namespaces and 50 nodes.
func benchObjects(n int) []*api.Object {
	objs := make([]*api.Object, n)
	for i := range objs {
		objs[i] = obj(fmt.Sprintf("ns%02d", i%100), fmt.Sprintf("pod-%07d", i), uint64(i+1), fmt.Sprintf("node%d", i%50))
	}
	return objs
}

// BenchmarkAppend measures the writer: apply to the store, take a
// snapshot, append to the ring (default config: the ring grows to 102400
// events and then evicts), with one field index. Each iteration updates a
// random-looking object, half of them moving it to another node.
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("Objects=%d", n), func(b *testing.B) {
			objs := benchObjects(n)
			w := mustNew(b, Config{IndexedFields: []string{"spec.nodeName"}})
			w.Replace(objs, uint64(n), t0)
			updates := make([]*api.Object, 4096)
			for i := range updates {
				k := (i * 7919) % n
				node := objs[k].Fields["spec.nodeName"]
				if i%2 == 0 {
					node = fmt.Sprintf("node%d", (i+1)%50)
				}
				updates[i] = obj(objs[k].Namespace, objs[k].Name, uint64(n+i), node)
			}
			rv, now := uint64(n), t0
			b.ReportAllocs()
			start := time.Now()
			i := 0
			for b.Loop() {
				rv++
				now = now.Add(time.Microsecond)
				u := updates[i%len(updates)]
				if err := w.Append(&api.Event{Type: api.Modified, Object: u, RV: rv}, now); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkSnapshotListPage reads one page of a list from a snapshot: the
// cost must not depend on where the page starts.
func BenchmarkSnapshotListPage(b *testing.B) {
	const n, limit = 100000, 500
	objs := benchObjects(n)
	w := mustNew(b, Config{})
	w.Replace(objs, uint64(n), t0)
	s := w.Latest()
	sorted := collect(s, "", "")
	for _, pos := range []struct {
		name string
		at   int
	}{{"start", 0}, {"middle", n / 2}, {"end", n - limit}} {
		b.Run(fmt.Sprintf("Objects=%d/Limit=%d/Position=%s", n, limit, pos.name), func(b *testing.B) {
			startKey := sorted[pos.at].Key
			page := make([]*api.Object, 0, limit)
			b.ReportAllocs()
			for b.Loop() {
				page = page[:0]
				s.Ascend(podPrefix, startKey, func(o *api.Object) bool {
					page = append(page, o)
					return len(page) < limit
				})
			}
			if len(page) != limit {
				b.Fatalf("page of %d", len(page))
			}
		})
	}
}

// BenchmarkListAll walks every object of a snapshot.
func BenchmarkListAll(b *testing.B) {
	const n = 10000
	w := mustNew(b, Config{})
	w.Replace(benchObjects(n), uint64(n), t0)
	b.Run(fmt.Sprintf("Objects=%d", n), func(b *testing.B) {
		out := make([]*api.Object, 0, n)
		b.ReportAllocs()
		for b.Loop() {
			out = out[:0]
			w.Latest().Ascend(podPrefix, "", func(o *api.Object) bool { out = append(out, o); return true })
		}
		if len(out) != n {
			b.Fatalf("listed %d", len(out))
		}
	})
}

// BenchmarkSnapshotRebuild reads a state between two checkpoints, the worst
// case: a clone of the checkpoint and a replay of CheckpointEvery-1 events
// (the recent-states set is emptied each time, so nothing is reused).
func BenchmarkSnapshotRebuild(b *testing.B) {
	const n = 100000
	objs := benchObjects(n)
	w := mustNew(b, Config{IndexedFields: []string{"spec.nodeName"}})
	w.Replace(objs, uint64(n), t0)
	rv := uint64(n)
	for i := range DefaultCheckpointEvery - 1 {
		rv++
		o := objs[(i*7919)%n]
		u := obj(o.Namespace, o.Name, rv, "elsewhere")
		if err := w.Append(&api.Event{Type: api.Modified, Object: u, RV: rv}, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.Run(fmt.Sprintf("Objects=%d/Replay=%d", n, DefaultCheckpointEvery-1), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w.matMu.Lock()
			w.recent = [recentStates]rebuilt{}
			w.matMu.Unlock()
			if s := w.Latest(); s.RV() != rv {
				b.Fatalf("RV %d", s.RV())
			}
		}
	})
}

// BenchmarkLatestGet is a Get from the latest state while the writer
// appends one event per read: the steady "reads between writes" pattern,
// where the writer checkpoints because readers keep asking.
func BenchmarkLatestGet(b *testing.B) {
	const n = 100000
	objs := benchObjects(n)
	w := mustNew(b, Config{IndexedFields: []string{"spec.nodeName"}})
	w.Replace(objs, uint64(n), t0)
	rv := uint64(n)
	b.Run(fmt.Sprintf("Objects=%d/EventsPerRead=1", n), func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			rv++
			o := objs[(i*7919)%n]
			if err := w.Append(&api.Event{Type: api.Modified, Object: o, RV: rv}, t0); err != nil {
				b.Fatal(err)
			}
			if _, ok := w.Latest().Get(o.Key); !ok {
				b.Fatal("missing")
			}
			i++
		}
	})
}

// BenchmarkSnapshotCountFrom is the remainingItemCount of a cluster-wide
// page of 500 (CountFrom after it) at the start, middle and end of 10k
// and 100k objects, with no previous count to go on from (cold): the first
// and last pages cost the same whatever the collection's size, a page in
// the middle walks half of it; and per page along a whole paginated walk
// (walk), where each count goes on from the previous page's.
func BenchmarkSnapshotCountFrom(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		w := mustNew(b, Config{})
		w.Replace(benchObjects(n), uint64(n), t0)
		s := w.Latest()
		sorted := collect(s, "", "")
		for _, pos := range []struct {
			name string
			at   int
		}{{"start", 500}, {"middle", n / 2}, {"end", n - 500}} {
			b.Run(fmt.Sprintf("Objects=%d/Position=%s/cold", n, pos.name), func(b *testing.B) {
				key := sorted[pos.at].Key
				b.ReportAllocs()
				for b.Loop() {
					s.st.lastCount.Store(nil)
					if s.CountFrom(podPrefix, key) != n-pos.at {
						b.Fatal("wrong count")
					}
				}
			})
		}
		b.Run(fmt.Sprintf("Objects=%d/walk", n), func(b *testing.B) {
			b.ReportAllocs()
			pages := 0
			for b.Loop() {
				s.st.lastCount.Store(nil)
				for at := 500; at < n; at += 500 {
					if s.CountFrom(podPrefix, sorted[at].Key) != n-at {
						b.Fatal("wrong count")
					}
					pages++
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pages), "ns/page")
		})
	}
}

// BenchmarkSnapshotIndexedList lists the 2,000 pods of one node (of 50)
// among 100,000 with the field index: at the latest state (the newest
// checkpoint, which keeps the index) and at a past one (an older
// checkpoint, which answers by a filtered scan, B256).
func BenchmarkSnapshotIndexedList(b *testing.B) {
	const n = 100000
	objs := benchObjects(n)
	w := mustNew(b, Config{IndexedFields: []string{"spec.nodeName"}})
	w.Replace(objs, uint64(n), t0)
	rv := uint64(n)
	for i := range 2 * DefaultCheckpointEvery {
		rv++
		o := objs[(i*7919)%n]
		if err := w.Append(&api.Event{Type: api.Modified, Object: obj(o.Namespace, o.Name, rv, "elsewhere"), RV: rv}, t0); err != nil {
			b.Fatal(err)
		}
	}
	past, err := w.Snapshot(uint64(n))
	if err != nil {
		b.Fatal(err)
	}
	for _, st := range []struct {
		name string
		s    *Snapshot
	}{{"latest", w.Latest()}, {"past", past}} {
		b.Run(fmt.Sprintf("Objects=%d/State=%s", n, st.name), func(b *testing.B) {
			got := 0
			b.ReportAllocs()
			for b.Loop() {
				got = 0
				st.s.AscendIndex("spec.nodeName", "node7", podPrefix, "", func(*api.Object) bool { got++; return true })
			}
			if got < n/50-2*DefaultCheckpointEvery {
				b.Fatalf("%d pods on node7", got)
			}
		})
	}
}

// BenchmarkHistoryMemory is what the history of the object-memory
// benchmark's fill keeps alive: 100,000 new pods over 100 nodes (one field
// index), applied in revisions of 100 events as a transaction writes them,
// into an empty cache whose ring keeps them all. retained-B/event is the
// live heap after a collection, above the pods themselves, per event: the
// store's trees, the checkpoints' copies of their nodes, the events and
// the ring.
func BenchmarkHistoryMemory(b *testing.B) {
	const n, perRevision = 100000, 100
	evs := make([]*api.Event, n)
	for i := range evs {
		o := obj(fmt.Sprintf("ns-%d", i%10), fmt.Sprintf("pod-%06d", i), uint64(2+i/perRevision), fmt.Sprintf("node-%d", i%100))
		evs[i] = &api.Event{Type: api.Added, Object: o, RV: o.RV}
	}
	b.ReportAllocs()
	var retained float64
	for b.Loop() {
		before := liveHeap()
		w := mustNew(b, Config{IndexedFields: []string{"spec.nodeName"}})
		w.Replace(nil, 1, t0)
		for i := 0; i < n; i += perRevision {
			if err := w.Apply(evs[i:i+perRevision], t0); err != nil {
				b.Fatal(err)
			}
		}
		retained = float64(liveHeap()-before) / n
		if st := w.Stats(); st.RingLen != n || st.Objects != n {
			b.Fatalf("%+v", st)
		}
	}
	b.ReportMetric(retained, "retained-B/event")
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
