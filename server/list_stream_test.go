package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

// TestStreamedList_B180: a list whose body reaches gzipMinBytes is
// streamed: chunked, no Content-Length, the same bytes as the list built
// whole, from a Seq (api.StreamLister) as from Items; with gzip, the same
// bytes once decompressed. A smaller list keeps its Content-Length.
func TestStreamedList_B180(t *testing.T) {
	t.Parallel()
	objs := benchObjects(400) // ~500 KB
	seq := &seqStorage{res: podsRes, objs: objs}
	items := &fixedList{res: nodesRes, list: &api.List{Items: objs[:50], RV: 401}}
	srv, ts := serve(t, Config{Storages: []api.Storage{seq, items}, Logger: quietLog})
	var want bytes.Buffer
	appendList(&want, srv.table().lookup("v1", "pods"), &api.List{Items: objs, RV: 401}, 0)

	resp, body := getWhole(t, ts.Client(), ts.URL+"/api/v1/pods", "")
	if resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("Content-Length %d, Transfer-Encoding %v; want a chunked body", resp.ContentLength, resp.TransferEncoding)
	}
	if !bytes.Equal(body, want.Bytes()) {
		t.Errorf("streamed list differs from the whole one (%d vs %d bytes)", len(body), want.Len())
	}
	resp, zbody := getWhole(t, ts.Client(), ts.URL+"/api/v1/pods", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zbody))
	if err != nil {
		t.Fatal(err)
	}
	if unzipped, err := io.ReadAll(zr); err != nil || !bytes.Equal(unzipped, want.Bytes()) {
		t.Errorf("gzip stream: %v, %d bytes, want %d", err, len(unzipped), want.Len())
	}

	want.Reset()
	appendList(&want, srv.table().lookup("v1", "nodes"), items.list, 0)
	want.Bytes()[len(`{"kind":"`)] = 'N' // nodesRes' list head
	resp, body = getWhole(t, ts.Client(), ts.URL+"/api/v1/nodes", "gzip")
	if resp.ContentLength != int64(len(body)) || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("small list: Content-Length %d for %d bytes, encoding %q", resp.ContentLength, len(body), resp.Header.Get("Content-Encoding"))
	}
}

// getWhole reads url whole; acceptEncoding is sent as it is (so that the
// transport does not decompress).
func getWhole(t *testing.T, c *http.Client, url, acceptEncoding string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return resp, body
}

// TestStalledListClients_B181: lists of a ~17 MB collection to clients
// that send the request and never read hold a bounded heap while they are
// stalled (well under a quarter of the list per client; a list built whole
// holds all of it), and each ends at the slow-client timeout, closing its
// connection.
//
// The heap is the live heap after GC (HeapAlloc: steadier than HeapInuse,
// which moves with span fragmentation by megabytes here). Not parallel: the
// heap is the process's, so the test runs alone.
func TestStalledListClients_B181(t *testing.T) {
	const clients = 4
	objs := benchObjects(14000)
	size := listBytes(objs)
	var active, written atomic.Int64
	srv, err := New(Config{Storages: []api.Storage{&seqStorage{res: podsRes, objs: objs}}, Logger: quietLog,
		SlowClientTimeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := newCountingServer(t, srv.Handler(), &active, &written)

	var before runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.(*net.TCPConn).SetReadBuffer(4096)
		conns[i] = c
		t.Cleanup(func() { _ = c.Close() })
		fmt.Fprintf(c, "GET /api/v1/pods HTTP/1.1\r\nHost: t\r\n\r\n")
	}
	waitStalled(t, &active, &written, clients, 10*time.Second)
	var during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&during)
	grew := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	bound := size * clients / 4
	t.Logf("%d stalled lists of %d bytes: heap grew %d bytes (bound %d)", clients, size, grew, bound)
	if grew > bound {
		t.Errorf("heap grew %d bytes with %d stalled lists of %d bytes; want < %d", grew, clients, size, bound)
	}
	if written.Load() >= size*clients {
		t.Fatalf("the clients took every byte (%d); nothing was stalled", written.Load())
	}
	deadline := time.Now().Add(8 * time.Second)
	for active.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d stalled lists still served 8 s after the slow-client timeout's start", active.Load())
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
}

// waitStalled waits until n requests are in their handlers and the bytes
// written to their connections stopped growing.
func waitStalled(t *testing.T, active, written *atomic.Int64, n int64, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	last, still := int64(-1), 0
	for still < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lists in flight, %d bytes written: not stalled after %v", active.Load(), n, written.Load(), bound)
		}
		time.Sleep(30 * time.Millisecond)
		if w := written.Load(); active.Load() == n && w == last {
			still++
		} else {
			last, still = w, 0
		}
	}
}

// newCountingServer serves h on loopback, counting the requests in their
// handler (active) and the body bytes they wrote (written).
func newCountingServer(t *testing.T, h http.Handler, active, written *atomic.Int64) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		active.Add(1)
		defer active.Add(-1)
		h.ServeHTTP(&countingResponse{ResponseWriter: w, n: written}, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// countingResponse counts what is written through it; Unwrap lets
// http.ResponseController reach the connection's deadlines.
type countingResponse struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingResponse) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingResponse) Unwrap() http.ResponseWriter { return c.ResponseWriter }
