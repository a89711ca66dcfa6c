package test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/client"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/internal/testkit"
	"github.com/watchcached/watchcached/test/conformance"
	"github.com/watchcached/watchcached/watchcache"
)

// TestGRPCConformance runs the conformance suite through the gRPC
// frontend: a real cacher on etcd, served by server.NewGRPCServer on a
// loopback listener, called through api/client. Every scenario holds the
// gRPC API to the same expectations (codes turned back into the api
// sentinels, messages, fields, event sequences) as the storages.
func TestGRPCConformance(t *testing.T) {
	conformance.Run(t, grpcFactory)
}

func grpcFactory(t *testing.T, res *api.Resource) conformance.Fixture {
	srv, st := newStore(t, res)
	c := newCacher(t, st, nil)
	addr := serveGRPC(t, prometheus.NewRegistry(), c)
	return conformance.Fixture{
		Storage: newGRPCStorage(dial(t, addr), st), Etcd: srv.Client, Prefix: "/registry",
		Sync:    func(t *testing.T, rv uint64) { syncCacher(t, c, rv) },
		Compact: compactFunc(srv.Client),
		History: suiteRing,
	}
}

// stallFixture is a cacher with a ring of ringSize events served over
// gRPC, with the registry that holds the server's metrics.
type stallFixture struct {
	reg   *prometheus.Registry
	addr  string
	store *etcdstore.Store
	cache *cacher.Cacher
}

func newStallFixture(t *testing.T, ringSize int) *stallFixture {
	_, st := newStore(t, podsRes())
	c := newCacher(t, st, func(cfg *cacher.Config) {
		cfg.WatchCache = watchcache.Config{MinCapacity: ringSize, MaxCapacity: ringSize, Window: time.Nanosecond}
	})
	reg := prometheus.NewRegistry()
	return &stallFixture{reg: reg, addr: serveGRPC(t, reg, c), store: st, cache: c}
}

func podsRes() *api.Resource { return conformance.Pods() }

var podsRef = &pb.Resource{Version: "v1", Resource: "pods"}

// write creates n pods with 4 concurrent writers and returns the RV of
// the last write.
func (f *stallFixture) write(t *testing.T, n int) uint64 {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last uint64
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				body := testkit.PodJSON("default", fmt.Sprintf("p%05d", i), "n1", nil)
				o, err := f.store.Create(context.Background(), "default", body)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				last = max(last, o.RV)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	return last
}

// sent is the server's count of watch events handed to gRPC streams.
func (f *stallFixture) sent(t *testing.T) int {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "watchcached_grpc_watch_events_sent_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return int(n)
}

// readAll reads n events from w and checks that they are ADDED with
// strictly increasing RVs ending at last (B41).
func readAll(t *testing.T, w *client.WatchStream, n int, last uint64) {
	t.Helper()
	var prev uint64
	for i := range n {
		ev, err := w.Next()
		if err != nil {
			t.Fatalf("fast watcher after %d events: %v", i, err)
		}
		if ev.Type != api.Added || ev.ResourceVersion <= prev {
			t.Fatalf("fast watcher event %d: %s@%d after @%d", i, ev.Type, ev.ResourceVersion, prev)
		}
		prev = ev.ResourceVersion
	}
	if prev != last {
		t.Fatalf("fast watcher ended at RV %d, want %d", prev, last)
	}
}

// TestGRPC_B43_SlowWatcherDoesNotDelayOthers: a gRPC watcher that never
// reads does not hold back another: the fast one receives every event,
// in order, while the slow stream stays open and stalled.
func TestGRPC_B43_SlowWatcherDoesNotDelayOthers(t *testing.T) {
	f := newStallFixture(t, 4096)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	start := api.FormatRV(f.cache.RV())
	slow, err := dial(t, f.addr).Watch(ctx, &pb.WatchRequest{Resource: podsRef, ResourceVersion: start})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast, err := dial(t, f.addr).Watch(ctx, &pb.WatchRequest{Resource: podsRef, ResourceVersion: start})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	const n = 2000
	done := make(chan struct{})
	var last uint64
	go func() {
		defer close(done)
		last = f.write(t, n)
	}()
	<-done
	readAll(t, fast, n, last)
	// The slow stream is still intact: it starts reading and catches up.
	readAll(t, slow, n, last)
}

// TestGRPC_B43_FlowControlBoundsStalledStream: a client that stops reading
// while 10,000 events are written is not buffered without bound. gRPC's
// flow control blocks the server's Send, so the number of events the
// server handed to the stalled stream stays far below 10,000 (the client's
// 64 KiB window plus the server's per-stream write quota, a few hundred
// pod events), the server's goroutines do not grow with the backlog, and
// the fast watcher gets everything. The stalled watcher keeps its place
// in the ring until the ring overwrites it; when the client reads again it
// gets what was in flight, then OUT_OF_RANGE/Expired (errors.Is
// api.ErrExpired) and the end of the stream.
func TestGRPC_B43_FlowControlBoundsStalledStream(t *testing.T) {
	f := newStallFixture(t, 1024)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	start := api.FormatRV(f.cache.RV())
	// A fixed 64 KiB window (it also turns off BDP window growth, which on
	// loopback lets a client accept up to 16 MiB): the client's own
	// buffer is its choice; what is measured is the server's.
	small := []grpc.DialOption{grpc.WithInitialWindowSize(64 << 10), grpc.WithInitialConnWindowSize(64 << 10)}
	stalled, err := dial(t, f.addr, small...).Watch(ctx, &pb.WatchRequest{Resource: podsRef, ResourceVersion: start})
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	fast, err := dial(t, f.addr).Watch(ctx, &pb.WatchRequest{Resource: podsRef, ResourceVersion: start})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	goroutines := runtime.NumGoroutine()

	const n = 10000
	var last uint64
	written := make(chan struct{})
	go func() {
		defer close(written)
		last = f.write(t, n)
	}()
	var prev uint64
	for i := 0; i < n; i++ { // read as fast as the writes come
		ev, err := fast.Next()
		if err != nil {
			t.Fatalf("fast watcher after %d events: %v", i, err)
		}
		if ev.ResourceVersion <= prev {
			t.Fatalf("fast watcher: RV %d after %d", ev.ResourceVersion, prev)
		}
		prev = ev.ResourceVersion
	}
	<-written
	if prev != last {
		t.Fatalf("fast watcher ended at %d, want %d", prev, last)
	}
	stalledSent := f.sent(t) - n
	t.Logf("events sent to the stalled stream: %d of %d", stalledSent, n)
	if stalledSent <= 0 || stalledSent > 1000 {
		t.Fatalf("events sent to the stalled stream: %d, want a few hundred at most", stalledSent)
	}
	if g := runtime.NumGoroutine(); g > goroutines+20 {
		t.Fatalf("goroutines grew from %d to %d", goroutines, g)
	}

	got := 0
	for {
		ev, err := stalled.Next()
		if err != nil {
			if !errors.Is(err, api.ErrExpired) {
				t.Fatalf("stalled watcher after %d events: %v, want api.ErrExpired", got, err)
			}
			break
		}
		if ev.Type != api.Added {
			t.Fatalf("stalled watcher: %s", ev.Type)
		}
		got++
	}
	// The Send blocked when the count was taken completes once the client
	// reads again, and the watcher may still hand out what its interval
	// had buffered before it reports the expiry: a little more, never less.
	if got < stalledSent || got > stalledSent+256 {
		t.Fatalf("stalled watcher read %d events before the error, server sent %d", got, stalledSent)
	}
	if _, err := stalled.Next(); !errors.Is(err, api.ErrExpired) {
		t.Fatalf("after the error: %v", err)
	}
}
