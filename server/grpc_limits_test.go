package server

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// gathered is the sum of the samples of the metric name in f's registry.
func gathered(t *testing.T, f *fixture, name string) float64 {
	t.Helper()
	mfs, err := f.srv.cfg.Gatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum
}

// waitFor polls cond until it holds or bound passes.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestGRPCStreamsPerConnection_B202 is the reproduction, bounded:
// 2,000 watch streams on one gRPC connection whose client never reads,
// each watch with 2,000 events of 1.1 KB to send. With
// MaxConcurrentStreams 100, exactly 100 streams start (the client's other
// 1,900 wait for a free one), each queues at most grpc-go's 64 KiB write
// quota (and its client 64 KiB of window), and the heap (the client's
// and the server's: both are in this process) grows by under 64 MiB; with
// no stream limit the same run grew it by about 760 MiB. Cancelling frees
// everything.
func TestGRPCStreamsPerConnection_B202(t *testing.T) {
	t.Parallel()
	const streams, limit, perWatch = 2000, 100, 2000
	f := newGRPCFixture(t, func(c *Config) { c.GRPCMaxConcurrentStreams = limit })
	raw := []byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"ns1"},"data":"` +
		strings.Repeat("x", 1024) + `"}`)
	obj := &api.Object{Namespace: "ns1", Name: "p", Raw: raw, RV: 7}
	evs := make([]api.WatchEvent, perWatch) // shared: a scriptWatcher only reslices it
	for i := range evs {
		evs[i] = api.WatchEvent{Type: api.Modified, Object: obj, RV: 7}
	}
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		return newScriptWatcher(evs, nil), nil
	})
	conn, err := grpc.NewClient(f.conn.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(65535), grpc.WithInitialConnWindowSize(65535))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewWatchCacheClient(conn)
	before := heapInUse()
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int64
	var wg sync.WaitGroup
	for range streams {
		wg.Go(func() {
			if _, err := c.Watch(ctx, &pb.WatchRequest{Resource: podsPB, Namespace: "ns1"}); err == nil {
				started.Add(1)
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()
	watchers := func() float64 { return gathered(t, f.fixture, "watchcached_grpc_watchers") }
	waitFor(t, 10*time.Second, "100 streams served", func() bool { return watchers() == limit && started.Load() == limit })
	// Every served stream has filled its window and its write quota: the
	// count of sent events stops growing.
	sent := func() float64 { return gathered(t, f.fixture, "watchcached_grpc_watch_events_sent_total") }
	last := -1.0
	waitFor(t, 10*time.Second, "sends stalled", func() bool {
		n := sent()
		stalled := n == last && n >= limit*50
		last = n
		time.Sleep(100 * time.Millisecond)
		return stalled
	})
	grew := int64(heapInUse()) - int64(before)
	t.Logf("%d streams served of %d; %v events sent; heap grew by %.1f MiB", started.Load(), streams, last, float64(grew)/(1<<20))
	if grew > 64<<20 {
		t.Errorf("heap grew by %d bytes with %d stalled streams on one connection", grew, limit)
	}
	if n := started.Load(); n != limit || watchers() != limit {
		t.Errorf("%d streams started, %v served; want %d", n, watchers(), limit)
	}
	cancel()
	wg.Wait()
	waitFor(t, 10*time.Second, "streams ended", func() bool { return watchers() == 0 })
}
