package cacher

// Benchmarks of the in-process hot paths, side by side with direct etcd
// where there is a direct equivalent. Opt-in:
//
//	go test -run '^$' -bench . -benchtime 2s ./cacher/
//
// Figures are ratios within one run; absolute numbers depend on the machine.

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/watchcache"
)

// benchPod is a ~1 KB pod.
func benchPod(ns, name, node string) string {
	pad := strings.Repeat("x", 700)
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q,"namespace":%q,"uid":"u-%s","labels":{"app":"bench","tier":"web"},"annotations":{"pad":%q}},"spec":{"nodeName":%q,"containers":[{"name":"c","image":"registry.example/app:1.0"}]}}`, name, ns, name, pad, node)
}

// fill writes n pods straight to etcd in large transactions.
func fill(tb testing.TB, cli *clientv3.Client, n int) {
	tb.Helper()
	var ops []clientv3.Op
	flush := func() {
		if len(ops) == 0 {
			return
		}
		if _, err := cli.Txn(context.Background()).Then(ops...).Commit(); err != nil {
			tb.Fatal(err)
		}
		ops = ops[:0]
	}
	for i := range n {
		ns, name := fmt.Sprintf("ns%d", i%10), fmt.Sprintf("pod-%05d", i)
		ops = append(ops, clientv3.OpPut("/registry/pods/"+ns+"/"+name, benchPod(ns, name, fmt.Sprintf("node-%d", i%100))))
		if len(ops) == 100 {
			flush()
		}
	}
	flush()
}

func benchEnv(b *testing.B, objects int) *env {
	b.Helper()
	e := newEnv(b, false, nil)
	fill(b, e.etcd.Client, objects)
	e.start()
	return e
}

func BenchmarkGet(b *testing.B) {
	e := benchEnv(b, 10000)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		get  func() (*api.Object, error)
	}{
		{"Source=cache/RV=0", func() (*api.Object, error) {
			return e.c.Get(ctx, "ns3", "pod-00003", api.GetOptions{ResourceVersion: "0"})
		}},
		{"Source=cache/RV=consistent", func() (*api.Object, error) {
			return e.c.Get(ctx, "ns3", "pod-00003", api.GetOptions{})
		}},
		{"Source=etcd/RV=consistent", func() (*api.Object, error) {
			return e.store.Get(ctx, "ns3", "pod-00003", api.GetOptions{})
		}},
		{"Source=etcd/RV=0", func() (*api.Object, error) {
			return e.store.Get(ctx, "ns3", "pod-00003", api.GetOptions{ResourceVersion: "0"})
		}},
	} {
		b.Run(tc.name+"/Clients=10", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(5) // 10 goroutines on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := tc.get(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkList(b *testing.B) {
	e := benchEnv(b, 10000)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		st   api.Storage
		opts api.ListOptions
	}{
		{"Source=cache/RV=consistent/Limit=none", e.c, api.ListOptions{}},
		{"Source=etcd/RV=consistent/Limit=none", e.store, api.ListOptions{}},
		{"Source=cache/RV=0/Limit=500", e.c, api.ListOptions{ResourceVersion: "0", Limit: 500}},
		{"Source=etcd/RV=consistent/Limit=500", e.store, api.ListOptions{Limit: 500}},
	} {
		b.Run("Objects=10000/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l, err := tc.st.List(ctx, tc.opts)
				if err != nil {
					b.Fatal(err)
				}
				if tc.opts.Limit == 0 && len(l.Items) != 10000 {
					b.Fatalf("%d items", len(l.Items))
				}
			}
		})
	}
	// A page deep inside the list costs the same as the first (B14 from a snapshot).
	first, err := e.c.List(ctx, api.ListOptions{ResourceVersion: "0", Limit: 9000})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Objects=10000/Source=cache/Page=last/Limit=500", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.c.List(ctx, api.ListOptions{Limit: 500, Continue: first.Continue}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// unstartedCacher is a cacher whose cache the benchmark feeds by hand (no
// reflector), to measure ingest and dispatch without etcd in the loop.
func unstartedCacher(b *testing.B, wcfg watchcache.Config) *Cacher {
	e := newEnv(b, false, func(c *Config) { c.WatchCache = wcfg })
	e.c.wc.Replace(nil, 1, time.Now())
	e.c.ready.set(stateReady, time.Now())
	return e.c
}

// benchEvents builds n events over keys objects, decoded by the real codec.
func benchEvents(b *testing.B, c *Cacher, n, keys int, rv0 uint64) []*api.Event {
	evs := make([]*api.Event, 0, n)
	prev := make([]*api.Object, keys)
	for i := range n {
		k := i % keys
		ns, name := fmt.Sprintf("ns%d", k%10), fmt.Sprintf("pod-%05d", k)
		rv := rv0 + uint64(i)
		obj, err := c.store.(*etcdstore.Store).Decode("/registry/pods/"+ns+"/"+name, []byte(benchPod(ns, name, fmt.Sprintf("node-%d", i%100))), int64(rv))
		if err != nil {
			b.Fatal(err)
		}
		ev := &api.Event{Type: api.Added, Object: obj, Prev: prev[k], RV: rv}
		if prev[k] != nil {
			ev.Type = api.Modified
		}
		prev[k] = obj
		evs = append(evs, ev)
	}
	return evs
}

// BenchmarkIngest applies events to the cache (store, snapshot, ring,
// wake-ups): events/s is 1e9 / ns/op.
func BenchmarkIngest(b *testing.B) {
	c := unstartedCacher(b, watchcache.Config{})
	evs := benchEvents(b, c, 200000, 10000, 2)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(evs) {
			b.StopTimer()
			c = unstartedCacher(b, watchcache.Config{})
			i = 0
			b.StartTimer()
		}
		if err := c.apply(evs[i:i+1], 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkFanout: one event applied, delivered to every watcher. ns/op is
// the time until the last watcher has it; p50/p99 are per-watcher delivery
// latencies (apply to Next returning), over all events.
func BenchmarkFanout(b *testing.B) {
	for _, watchers := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("Watchers=%d", watchers), func(b *testing.B) {
			c := unstartedCacher(b, watchcache.Config{})
			evs := benchEvents(b, c, 4096, 100, 2)
			var sent atomic.Int64 // UnixNano of the last apply
			var pending atomic.Int64
			allGot := make(chan struct{}, 1)
			lat := make([][]time.Duration, watchers) // one slice per watcher: no shared lock
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for i := range watchers {
				w, err := c.Watch(context.Background(), api.WatchOptions{ResourceVersion: "1"})
				if err != nil {
					b.Fatal(err)
				}
				wg.Go(func() {
					defer w.Close()
					for {
						if _, err := w.Next(ctx); err != nil {
							return
						}
						lat[i] = append(lat[i], time.Duration(time.Now().UnixNano()-sent.Load()))
						if pending.Add(-1) == 0 {
							allGot <- struct{}{}
						}
					}
				})
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == len(evs) {
					break
				}
				pending.Store(int64(watchers))
				sent.Store(time.Now().UnixNano())
				if err := c.apply(evs[i:i+1], 0); err != nil {
					b.Fatal(err)
				}
				<-allGot
				i++
			}
			cancel()
			wg.Wait()
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			if len(all) > 0 {
				b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}

// BenchmarkIdleWatcher measures the cache-side heap held by an idle watcher
// (its state and its interval, after it caught up), not the goroutine that
// serves it.
func BenchmarkIdleWatcher(b *testing.B) {
	c := unstartedCacher(b, watchcache.Config{})
	evs := benchEvents(b, c, 1000, 100, 2)
	if err := c.apply(evs, 0); err != nil {
		b.Fatal(err)
	}
	const n = 10000
	done, cancel := context.WithCancel(context.Background())
	cancel()
	b.ReportAllocs()
	var perWatcher float64
	for b.Loop() {
		ws := make([]api.Watcher, 0, n)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			// Start 100 events back and read them all: an idle watcher that
			// has seen traffic, not a fresh one.
			w, err := c.Watch(context.Background(), api.WatchOptions{ResourceVersion: api.FormatRV(c.RV() - 100)})
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := w.Next(done); err != nil {
					break // caught up, then found ctx done: now idle
				}
			}
			ws = append(ws, w)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perWatcher = float64(after.HeapAlloc-before.HeapAlloc) / n
		for _, w := range ws {
			w.Close()
		}
		runtime.KeepAlive(ws)
	}
	b.ReportMetric(perWatcher, "B/watcher")
}

// BenchmarkListPage is the first page of 500 of a cluster-wide list at
// RV=0 (with its remainingItemCount) from caches of 10k and 100k pods fed
// by hand: the page's cost must not grow with the collection.
func BenchmarkListPage(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		c := unstartedCacher(b, watchcache.Config{})
		objs := make([]*api.Object, n)
		for i := range objs {
			ns, name := fmt.Sprintf("ns%d", i%10), fmt.Sprintf("pod-%06d", i)
			o, err := c.store.(*etcdstore.Store).Decode("/registry/pods/"+ns+"/"+name, []byte(benchPod(ns, name, "node-1")), int64(i+2))
			if err != nil {
				b.Fatal(err)
			}
			objs[i] = o
		}
		sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
		c.wc.Replace(objs, uint64(n+2), time.Now())
		b.Run(fmt.Sprintf("Objects=%d/Limit=500/Page=first", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l, err := c.List(context.Background(), api.ListOptions{ResourceVersion: "0", Limit: 500})
				if err != nil || len(l.Items) != 500 || *l.RemainingItemCount != int64(n-500) {
					b.Fatalf("%v", err)
				}
			}
		})
	}
}
