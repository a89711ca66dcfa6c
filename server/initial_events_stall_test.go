package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// TestStalledInitialEvents_B188: watches with sendInitialEvents of a
// cached ~5.5 MB collection whose clients never read hold a bounded heap
// while stalled (the initial events are walked from the cache's snapshot
// one by one, never gathered per watcher) and each is cut at the
// slow-client timeout.
//
// The heap is the live heap after GC (HeapAlloc: steadier than HeapInuse,
// which moves with span fragmentation by megabytes here). Not parallel: the
// heap is the process's, so the test runs alone.
func TestStalledInitialEvents_B188(t *testing.T) {
	const clients, pods = 4, 4000
	e := etcdtest.Start(t)
	size := fillPods(t, e.Client, pods)
	store := newStore(t, e, podsRes)
	c, err := cacher.New(cacher.Config{Source: store, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Storages: []api.Storage{c}, Logger: quietLog, SlowClientTimeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.CloseWatches)
	var active, written atomic.Int64
	ts := newSmallBufferServer(t, srv.Handler(), &active, &written)

	var before runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range clients {
		conn, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.(*net.TCPConn).SetReadBuffer(4096)
		t.Cleanup(func() { _ = conn.Close() })
		fmt.Fprintf(conn, "GET /api/v1/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=60 HTTP/1.1\r\nHost: t\r\n\r\n")
	}
	waitStalled(t, &active, &written, clients, 10*time.Second)
	var during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&during)
	grew := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	bound := size * clients / 4
	t.Logf("%d stalled initial-events watches of %d bytes (%d written): heap grew %d bytes (bound %d)", clients, size, written.Load(), grew, bound)
	if grew > bound {
		t.Errorf("heap grew %d bytes with %d stalled watches of %d bytes; want < %d", grew, clients, size, bound)
	}
	if w := written.Load(); w >= size*clients/2 || w < clients*32<<10 {
		t.Fatalf("%d bytes written to %d clients of %d-byte initial events: not a stalled stream of them", w, clients, size)
	}
	deadline := time.Now().Add(8 * time.Second)
	for active.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d stalled watches still open 8 s after the slow-client timeout's start", active.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fillPods writes n ~1.2 KB pods straight to etcd and returns their bytes.
func fillPods(t *testing.T, cli *clientv3.Client, n int) int64 {
	t.Helper()
	var size int64
	var ops []clientv3.Op
	for i := range n {
		raw := benchPodJSON(i, 0)
		size += int64(len(raw))
		ops = append(ops, clientv3.OpPut(fmt.Sprintf("/registry/pods/ns%d/web-%05d-%x", i%10, i, i*7919), string(raw)))
		if len(ops) == 100 || i == n-1 {
			if _, err := cli.Txn(t.Context()).Then(ops...).Commit(); err != nil {
				t.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	return size
}

// newSmallBufferServer is newCountingServer whose connections have 32 KiB
// send buffers, so that a client that does not read stalls the server
// after a few dozen KB rather than after the kernel's megabytes.
func newSmallBufferServer(t *testing.T, h http.Handler, active, written *atomic.Int64) *httptest.Server {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		active.Add(1)
		defer active.Add(-1)
		h.ServeHTTP(&countingResponse{ResponseWriter: w, n: written}, r)
	}))
	ts.Listener = smallBufferListener{ts.Listener}
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(32 << 10)
	}
	return c, err
}
