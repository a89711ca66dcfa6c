package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// stalledWatches is how many watches each stalled-client test opens.
const stalledWatches = 5

// bigEvents are enough large events (400 x 64 KiB, sharing one object)
// to fill any loopback socket's buffers, so that a client that does not
// read blocks the server's writes.
func bigEvents() []api.WatchEvent {
	raw := []byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"big","namespace":"ns1"},"data":"` +
		strings.Repeat("x", 64<<10) + `"}`)
	obj := &api.Object{Namespace: "ns1", Name: "big", Raw: raw, RV: 7}
	evs := make([]api.WatchEvent, 400)
	for i := range evs {
		evs[i] = api.WatchEvent{Type: api.Modified, Object: obj, RV: 7}
	}
	return evs
}

// idleWatcher is a scriptWatcher that says when it runs dry
// (api.IdleNotifier), as the cache's watchers do: the HTTP encoder then
// flushes once per burst instead of after each event.
type idleWatcher struct {
	*scriptWatcher
	onIdle func() // set before the first Next; used by Next's caller only
}

func (w *idleWatcher) NotifyIdle(f func()) { w.onIdle = f }

func (w *idleWatcher) Next(ctx context.Context) (api.WatchEvent, error) {
	if len(w.events) == 0 && w.onIdle != nil {
		w.onIdle()
	}
	return w.scriptWatcher.Next(ctx)
}

// scriptBigWatches makes every watch of f's pods a scriptWatcher of
// bigEvents (an idleWatcher when idle); the returned channel receives
// each one once it is closed.
func scriptBigWatches(f *fixture, idle bool) <-chan struct{} {
	closed := make(chan struct{}, stalledWatches)
	f.pods.setWatch(func(ctx context.Context, _ api.WatchOptions) (api.Watcher, error) {
		w := newScriptWatcher(bigEvents(), nil)
		go func() { <-w.closed; closed <- struct{}{} }()
		if idle {
			return &idleWatcher{scriptWatcher: w}, nil
		}
		return w, nil
	})
	return closed
}

// awaitClosed waits for n watchers to be closed within bound.
func awaitClosed(t *testing.T, closed <-chan struct{}, n int, bound time.Duration) time.Duration {
	t.Helper()
	start, timer := time.Now(), time.NewTimer(bound)
	defer timer.Stop()
	for i := range n {
		select {
		case <-closed:
		case <-timer.C:
			t.Fatalf("%d of %d stalled watches still open after %v", n-i, n, bound)
		}
	}
	return time.Since(start)
}

// stalledCases: a stalled watch ends at the slow-client timeout (counted)
// or, when that is longer, at its own timeoutSeconds (not counted).
var stalledCases = []struct {
	name           string
	slow           time.Duration
	timeoutSeconds int
	idle           bool // the watcher is an api.IdleNotifier
	min, bound     time.Duration
	countedSlow    float64
}{
	{"SlowClientTimeout", 200 * time.Millisecond, 60, false, 150 * time.Millisecond, 3 * time.Second, stalledWatches},
	{"SlowClientTimeoutIdleNotifier", 200 * time.Millisecond, 60, true, 150 * time.Millisecond, 3 * time.Second, stalledWatches},
	{"WatchDeadline", time.Minute, 1, false, 900 * time.Millisecond, 4 * time.Second, 0},
	{"WatchDeadlineIdleNotifier", time.Minute, 1, true, 900 * time.Millisecond, 4 * time.Second, 0},
}

// TestStalledHTTPWatchesClosed_B130: HTTP watches whose client sent the
// request and never reads are closed (watchers gauge back to 0) at the
// slow-client timeout or at their timeoutSeconds, whichever is first.
func TestStalledHTTPWatchesClosed_B130(t *testing.T) {
	t.Parallel()
	for _, tc := range stalledCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *Config) { c.SlowClientTimeout = tc.slow })
			closed := scriptBigWatches(f, tc.idle)
			start := time.Now()
			for range stalledWatches {
				conn, err := net.Dial("tcp", f.ts.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = conn.Close() })
				fmt.Fprintf(conn, "GET /api/v1/namespaces/ns1/pods?watch=true&timeoutSeconds=%d HTTP/1.1\r\nHost: t\r\n\r\n", tc.timeoutSeconds)
			}
			awaitClosed(t, closed, stalledWatches, tc.bound)
			if took := time.Since(start); took < tc.min {
				t.Errorf("closed after %v, before the limit %v", took, tc.min)
			}
			if got := testutil.ToFloat64(f.srv.metrics.watchers.WithLabelValues("pods")); got != 0 {
				t.Errorf("watchers gauge %v, want 0", got)
			}
			if got := testutil.ToFloat64(f.srv.metrics.slow.WithLabelValues("http", slowReasonTimeout)); got != tc.countedSlow {
				t.Errorf("closed as slow %v, want %v", got, tc.countedSlow)
			}
		})
	}
}

// TestStalledGRPCWatchesClosed_B131: gRPC watch streams that are never
// received from (a 64 KiB window, so flow control blocks Send) are ended
// at the slow-client timeout or at their timeoutSeconds.
func TestStalledGRPCWatchesClosed_B131(t *testing.T) {
	t.Parallel()
	for _, tc := range stalledCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newGRPCFixture(t, func(c *Config) { c.SlowClientTimeout = tc.slow })
			closed := scriptBigWatches(f.fixture, tc.idle)
			conn, err := grpc.NewClient(f.conn.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithInitialWindowSize(65535), grpc.WithInitialConnWindowSize(65535))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := pb.NewWatchCacheClient(conn)
			start := time.Now()
			for range stalledWatches {
				if _, err := c.Watch(ctx, &pb.WatchRequest{Resource: podsPB, Namespace: "ns1", TimeoutSeconds: int64(tc.timeoutSeconds)}); err != nil {
					t.Fatal(err)
				}
			}
			awaitClosed(t, closed, stalledWatches, tc.bound)
			if took := time.Since(start); took < tc.min {
				t.Errorf("closed after %v, before the limit %v", took, tc.min)
			}
			if got := testutil.ToFloat64(f.srv.metrics.slow.WithLabelValues("grpc", slowReasonTimeout)); got != tc.countedSlow {
				t.Errorf("closed as slow %v, want %v", got, tc.countedSlow)
			}
		})
	}
}

// TestSlowBodyFails_B132: a POST body sent one byte every 200 ms fails
// with 400 once BodyReadTimeout (500 ms here) has passed, and the server
// closes the connection.
func TestSlowBodyFails_B132(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.BodyReadTimeout = 500 * time.Millisecond })
	conn, err := net.Dial("tcp", f.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /api/v1/namespaces/ns1/pods HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(podBody))
	done := make(chan struct{})
	defer close(done)
	go func() { // the trickle: one byte per 200 ms until the test ends
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < len(podBody); i++ {
			if _, err := conn.Write([]byte{podBody[i]}); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-done:
				return
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("code %d, want 400", resp.StatusCode)
	}
	if b := string(body); !strings.Contains(b, `"reason":"BadRequest"`) || !strings.Contains(b, `reading the request body: read tcp`) ||
		!strings.Contains(b, `i/o timeout"`) {
		t.Errorf("body %s", b)
	}
	if took < 400*time.Millisecond || took > 3*time.Second {
		t.Errorf("answered after %v, want about 500ms", took)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after the response: %q, %v; want the connection closed", rest, err)
	}
}
