package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/watchcached/watchcached/api"
)

// TestRequestEnd_B254: end-of-request work runs at once unless the request
// was detached; then it runs once both the handler returned and the
// stream finished, whichever is last, in the order it was handed over,
// with the bytes the stream wrote.
func TestRequestEnd_B254(t *testing.T) {
	for _, finishFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("finishFirst=", finishFirst), func(t *testing.T) {
			r, returned := withRequestEnd(httptest.NewRequest("GET", "/", nil))
			if r2, _ := withRequestEnd(r); r2 != r {
				t.Fatal("an inner withRequestEnd made a second requestEnd")
			}
			var got []string
			atEnd(r.Context(), func(n int64) { got = append(got, fmt.Sprint("now:", n)) })
			if len(got) != 1 {
				t.Fatalf("work before detach ran %d times, want 1", len(got))
			}
			e := requestEndOf(r.Context())
			e.detach()
			atEnd(r.Context(), func(n int64) { got = append(got, fmt.Sprint("a:", n)) })
			atEnd(r.Context(), func(n int64) { got = append(got, fmt.Sprint("b:", n)) })
			if finishFirst {
				e.finish(42)
				if len(got) != 1 {
					t.Fatalf("queued work ran before the handler returned: %v", got)
				}
				returned()
			} else {
				returned()
				if len(got) != 1 {
					t.Fatalf("queued work ran before the stream finished: %v", got)
				}
				e.finish(42)
			}
			if want := "[now:0 a:42 b:42]"; fmt.Sprint(got) != want {
				t.Fatalf("work ran as %v, want %s", got, want)
			}
		})
	}
}

// openRawWatch sends a watch request on a new connection to addr (dial:
// TCP, or TLS when cfg is set) and reads the response up to the end of
// its head.
func openRawWatch(t *testing.T, addr string, cfg *tls.Config, path string) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	if cfg != nil {
		c, err = tls.Dial("tcp", addr, cfg)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	var head []byte
	b := make([]byte, 1)
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		if _, err := c.Read(b); err != nil {
			t.Fatalf("head %q: %v", head, err)
		}
		head = append(head, b[0])
	}
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 200 ")) {
		t.Fatalf("head %q", head)
	}
	return c
}

// openHijacks is how many watches have their connection taken over.
func openHijacks(s *Server) int {
	s.hijacks.mu.Lock()
	defer s.hijacks.mu.Unlock()
	return len(s.hijacks.open)
}

// waitHijacks waits up to 5 s for n taken-over watches.
func waitHijacks(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for openHijacks(s) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d taken-over watches, want %d", openHijacks(s), n)
		}
		time.Sleep(2 * time.Millisecond) // polling with a deadline
	}
}

// TestWatchTakeOverTLS_B253: over TLS with HTTP/1.1 the watch takes its
// connection over too: the events arrive chunked, the stream ends with
// the last chunk and the connection is closed.
func TestWatchTakeOverTLS_B253(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := newScriptWatcher(wireEvents()[:3], nil)
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) { return w, nil })
	ts := httptest.NewTLSServer(f.srv.Handler())
	t.Cleanup(ts.Close)
	c := openRawWatch(t, ts.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true}, "/api/v1/pods?watch=true")
	waitHijacks(t, f.srv, 1)
	f.srv.CloseWatches()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	body, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("after %q: %v", body, err)
	}
	plain, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body)))
	if err != nil || strings.Count(string(plain), "\n") != 3 || !bytes.HasSuffix(body, []byte("\r\n0\r\n\r\n")) {
		t.Fatalf("body %q (%v), want 3 events and the last chunk before the close", body, err)
	}
	waitClosed(t, w)
}

// TestWatchTakeOverConnLimit_B254: a taken-over connection still holds
// its place under the connection limit and in watchcached_connections
// until the watch closes it: a second connection is not served before.
func TestWatchTakeOverConnLimit_B254(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		return newScriptWatcher(nil, nil), nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: f.srv.Handler()}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(f.srv.Listener(ln, "http", 1)) }()
	t.Cleanup(func() {
		f.srv.CloseWatches()
		_ = f.srv.WaitWatches(t.Context())
		_ = hs.Close()
		<-served
	})
	open := f.srv.conns.open.WithLabelValues("http")
	watch := openRawWatch(t, ln.Addr().String(), nil, "/api/v1/pods?watch=true")
	waitHijacks(t, f.srv, 1)
	if v := testutil.ToFloat64(open); v != 1 {
		t.Errorf("watchcached_connections{frontend=\"http\"} = %v during the watch, want 1", v)
	}
	other, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	fmt.Fprintf(other, "GET /version HTTP/1.1\r\nHost: t\r\n\r\n")
	b := make([]byte, 12)
	_ = other.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := other.Read(b); !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
		t.Fatalf("second connection answered %q, %v while the watch holds the only one", b[:n], err)
	}
	_ = watch.Close()
	_ = other.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(other, b); err != nil || string(b) != "HTTP/1.1 200" {
		t.Fatalf("second connection after the watch: %q, %v", b, err)
	}
	waitHijacks(t, f.srv, 0)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestWaitWatches_B254: WaitWatches returns at once with no taken-over
// watch; with one whose client does not read (its stream blocked in a
// write after CloseWatches), it closes the connection when its context
// ends and returns that context's error once the watch ended.
func TestWaitWatches_B254(t *testing.T) {
	t.Parallel()
	srv, err := New(Config{Storages: []api.Storage{&replayStorage{res: podsRes}}, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitWatches(t.Context()); err != nil {
		t.Fatalf("no watch: %v", err)
	}
	f := newFixture(t, func(c *Config) { c.SlowClientTimeout = time.Minute })
	closed := scriptBigWatches(f, true)
	ts := httptest.NewUnstartedServer(f.srv.Handler())
	ts.Listener = smallBufferListener{ts.Listener}
	ts.Start()
	t.Cleanup(ts.Close)
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(c, "GET /api/v1/pods?watch=true HTTP/1.1\r\nHost: t\r\n\r\n")
	waitHijacks(t, f.srv, 1)
	f.srv.CloseWatches()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := f.srv.WaitWatches(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitWatches: %v, want %v", err, context.DeadlineExceeded)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("WaitWatches took %v", d)
	}
	awaitClosed(t, closed, 1, 5*time.Second)
	if n := openHijacks(f.srv); n != 0 {
		t.Fatalf("%d taken-over watches after WaitWatches", n)
	}
}

// closePanicWatcher panics in Close, which the stream's goroutine calls
// outside the pump.
type closePanicWatcher struct{ *scriptWatcher }

func (w closePanicWatcher) Close() {
	w.scriptWatcher.Close()
	panic("boom in Close")
}

// TestWatchTakeOverPanic_B255: a panic on a taken-over watch's goroutine
// outside the pump (which ends the stream with an ERROR event itself,
// TestPanic_B90_HTTP) is recovered: logged once with its stack, counted,
// the connection closed without the last chunk (the client sees a broken
// stream, as net/http breaks it), and the request's end still recorded.
func TestWatchTakeOverPanic_B255(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, func(c *Config) { c.Logger = log })
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		return closePanicWatcher{newScriptWatcher(wireEvents()[:1], io.EOF)}, nil
	})
	c := openRawWatch(t, f.ts.Listener.Addr().String(), nil, "/api/v1/pods?watch=true")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	body, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("after %q: %v", body, err)
	}
	if _, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("body %q read as %v, want a broken chunked stream", body, err)
	}
	waitHijacks(t, f.srv, 0)
	if v := testutil.ToFloat64(f.srv.metrics.panics.WithLabelValues("http")); v != 1 {
		t.Errorf("watchcached_panics_total{frontend=\"http\"} = %v, want 1", v)
	}
	if n := strings.Count(logs.String(), `"msg":"panic serving request"`); n != 1 || !strings.Contains(logs.String(), "boom in Close") {
		t.Errorf("%d panic lines, want 1 naming the panic:\n%s", n, logs.String())
	}
	if l := watchLines(t, &logs); len(l) != 1 {
		t.Errorf("%d access lines of the watch, want 1", len(l))
	}
}

// idleHeapWatches is how many idle watches TestIdleWatchHeap_B253 opens.
const idleHeapWatches = 200

// TestIdleWatchHeap_B253: an idle HTTP/1.1 watch whose connection was
// taken over holds at most 6 KiB of live heap (client side included:
// both ends of the loopback connection are in this process); left on
// net/http (request, connection and 10 KiB of bufio buffers) it holds
// ~20 KiB. Not parallel: it reads the process's heap.
func TestIdleWatchHeap_B253(t *testing.T) {
	if raceEnabled {
		t.Skip("-race: instrumented allocations are not the product's")
	}
	f := newFixture(t)
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		return &idleWatcher{scriptWatcher: newScriptWatcher(nil, nil)}, nil
	})
	ref := onNetHTTP(t, f.srv.Handler())
	netHTTP := idleHeapPerWatch(t, ref.Listener.Addr().String())
	taken := idleHeapPerWatch(t, f.ts.Listener.Addr().String())
	t.Logf("live heap per idle watch: %d B taken over, %d B on net/http", taken, netHTTP)
	if taken > 6<<10 {
		t.Fatalf("%d B of live heap per idle taken-over watch, want at most %d", taken, 6<<10)
	}
}

// idleHeapPerWatch opens idleHeapWatches idle watches on addr and returns
// the live heap they hold, per watch; it closes them before returning.
func idleHeapPerWatch(t *testing.T, addr string) int64 {
	before := liveHeap()
	conns := make([]net.Conn, 0, idleHeapWatches)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	buf := make([]byte, 1024)
	for range idleHeapWatches {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /api/v1/namespaces/ns1/pods?watch=true HTTP/1.1\r\nHost: t\r\n\r\n")
		var head []byte
		for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			head = append(head, buf[:n]...)
		}
	}
	return (liveHeap() - before) / idleHeapWatches
}

// liveHeap is the heap allocated after collections.
func liveHeap() int64 {
	var m runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestWatchTakeOverClientGone_B253: bytes a client sends on a taken-over
// watch's connection are ignored (the stream goes on), and its half-close
// ends the stream at once, with the last chunk, as the request's context
// ended it on net/http; then the connection is closed.
func TestWatchTakeOverClientGone_B253(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := openRawWatch(t, f.ts.Listener.Addr().String(), nil, "/api/v1/namespaces/ns1/pods?watch=true")
	waitHijacks(t, f.srv, 1)
	if _, err := c.Write([]byte("GET /version HTTP/1.1\r\nHost: t\r\n\r\njunk")); err != nil {
		t.Fatal(err)
	}
	add(t, f.pods, "ns1", "after-junk", nil)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte(`"name":"after-junk"`)) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Contains(got, []byte(`{"type":"ADDED"`)) {
		t.Fatalf("event %q", got)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(c)
	if err != nil || string(rest) != "0\r\n\r\n" {
		t.Fatalf("after the half-close: %q, %v; want the last chunk, then the close", rest, err)
	}
	waitHijacks(t, f.srv, 0)
}
