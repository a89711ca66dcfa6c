package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

// onNetHTTP serves h with every ResponseWriter wrapped in a writer an
// outer middleware would use (one that unwraps to net/http's but does not
// hijack), which keeps watches on net/http (canTakeOver): the reference
// for the bytes a taken-over watch must write.
func onNetHTTP(t *testing.T, h http.Handler) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&outerWriter{w}, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

type outerWriter struct{ http.ResponseWriter }

func (o *outerWriter) Unwrap() http.ResponseWriter { return o.ResponseWriter }

// rawWatch sends GET path over a raw TCP connection to addr and returns
// every byte of the answer up to the body's last chunk, and whether the
// server then closed the connection (within 250 ms).
func rawWatch(t *testing.T, addr, path string) (raw []byte, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64<<10)
	for !bytes.HasSuffix(raw, []byte("\r\n0\r\n\r\n")) {
		n, err := c.Read(buf)
		raw = append(raw, buf[:n]...)
		if err != nil {
			t.Fatalf("after %q: %v", raw, err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
	n, err := c.Read(buf)
	if n > 0 {
		t.Fatalf("%q after the last chunk", buf[:n])
	}
	return raw, err == io.EOF
}

var dateLine = regexp.MustCompile(`\r\nDate: [^\r]*\r\n`)

// wireEvents are events of several sizes around net/http's 2 KiB and 4
// KiB buffers, so that the framing is split into chunks as it splits it.
func wireEvents() []api.WatchEvent {
	var evs []api.WatchEvent
	for i, size := range []int{10, 2100, 30, 5000, 1, 2047, 9000, 200} {
		raw := fmt.Sprintf(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p%d","namespace":"ns1","resourceVersion":"%d"},"pad":"%s"}`,
			i, 10+i, strings.Repeat("x", size))
		obj := &api.Object{Namespace: "ns1", Name: fmt.Sprint("p", i), Raw: []byte(raw), RV: uint64(10 + i)}
		evs = append(evs, api.WatchEvent{Type: api.Modified, Object: obj, RV: obj.RV})
		if i == 3 {
			evs = append(evs, api.WatchEvent{Type: api.Bookmark, RV: obj.RV})
		}
	}
	return evs
}

// TestWatchTakeOverWireBytes_B253: a watch that took its connection over
// writes exactly the bytes net/http writes for it (head, chunk framing
// and boundaries, the last chunk), for a watcher that flushes per event
// and one that flushes per burst, ending cleanly or with an ERROR event,
// except that its head says `Connection: close`; then it closes the
// connection.
func TestWatchTakeOverWireBytes_B253(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		idle bool
		end  error
	}{
		{"FlushEachEOF", false, io.EOF},
		{"BurstEOF", true, io.EOF},
		{"BurstError", true, fmt.Errorf("%w: too old", api.ErrExpired)},
		{"FlushEachError", false, fmt.Errorf("%w: too old", api.ErrExpired)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
				w := newScriptWatcher(wireEvents(), tc.end)
				if tc.idle {
					return &idleWatcher{scriptWatcher: w}, nil
				}
				return w, nil
			})
			ref := onNetHTTP(t, f.srv.Handler())
			const path = "/api/v1/namespaces/ns1/pods?watch=true&allowWatchBookmarks=true"
			want, refClosed := rawWatch(t, ref.Listener.Addr().String(), path)
			got, closed := rawWatch(t, f.ts.Listener.Addr().String(), path)
			if refClosed || !closed {
				t.Errorf("connection closed after the body: net/http %v (want false), taken over %v (want true)", refClosed, closed)
			}
			// The one difference: the taken-over head announces the close
			// (so no client reuses the connection, B253).
			if !bytes.Contains(got, []byte("\r\nConnection: close\r\n")) || bytes.Contains(want, []byte("\r\nConnection:")) {
				t.Errorf("Connection header: taken over %q, net/http %q", got, want)
			}
			got = bytes.Replace(got, []byte("\r\nConnection: close\r\n"), []byte("\r\n"), 1)
			want, got = dateLine.ReplaceAll(want, []byte("\r\nDate: -\r\n")), dateLine.ReplaceAll(got, []byte("\r\nDate: -\r\n"))
			if !bytes.Equal(got, want) {
				t.Fatalf("taken-over watch wrote\n%q\nnet/http wrote\n%q", got, want)
			}
			head, body, _ := bytes.Cut(got, []byte("\r\n\r\n"))
			if !bytes.Contains(head, []byte("\r\nTransfer-Encoding: chunked")) || bytes.Count(body, []byte("\r\n")) < 2*8 {
				t.Fatalf("not a chunked body of several chunks:\n%q", got)
			}
			plain, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body)))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(plain), "\n"), "\n")
			wantLines := len(wireEvents()) + map[bool]int{true: 1}[tc.end != io.EOF]
			if len(lines) != wantLines || !strings.HasPrefix(lines[4], `{"type":"BOOKMARK"`) {
				t.Fatalf("%d lines (want %d), line 4 %.40q", len(lines), wantLines, lines[4])
			}
			if tc.end != io.EOF && !strings.HasPrefix(lines[len(lines)-1], `{"type":"ERROR","object":{"kind":"Status"`) {
				t.Fatalf("last line %q, want the ERROR event", lines[len(lines)-1])
			}
		})
	}
}

// metricValue is the value of the sample of /metrics whose line starts
// with series (name and labels), "" when there is none.
func metricValue(t *testing.T, f *fixture, series string) string {
	t.Helper()
	for line := range strings.SplitSeq(f.do(t, http.MethodGet, "/metrics", "").body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// waitMetric waits up to 5 s for series to have value want.
func waitMetric(t *testing.T, f *fixture, series, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := metricValue(t, f, series)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want %q", series, got, want)
		}
		time.Sleep(5 * time.Millisecond) // polling a metric with a deadline
	}
}

// TestWatchTakeOverEndOfRequest_B254: while a taken-over watch is open,
// it counts as an open watch (watchers gauge, long-running gauge, the
// admission slot of --max-watches, so a second watch gets 429), and
// nothing of its end is recorded; when the client goes away (noticed by
// the connection's reader), the stream ends at once and the access line,
// the request counters and the gauges are recorded as net/http's end of
// the request recorded them.
func TestWatchTakeOverEndOfRequest_B254(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, func(c *Config) { c.Logger = log; c.Limits.MaxWatches = 1 })
	w := newScriptWatcher(wireEvents()[:1], nil)
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) { return w, nil })
	c, err := net.Dial("tcp", f.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /api/v1/namespaces/ns1/pods?watch=true HTTP/1.1\r\nHost: t\r\n\r\n")
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte(`"pad"`)) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	_, body, _ := bytes.Cut(got, []byte("\r\n\r\n"))
	const (
		watchers    = `watchcached_http_watchers{resource="pods"}`
		longRunning = `apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="WATCH",version="v1"}`
		inflight    = `watchcached_current_inflight_requests{request_kind="watch"}`
		requests    = `watchcached_http_requests_total{cache="false",code="200",resource="pods",verb="WATCH"}`
		kube        = `apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="namespace",subresource="",verb="WATCH",version="v1"}`
	)
	for series, want := range map[string]string{watchers: "1", longRunning: "1", inflight: "1", requests: "", kube: ""} {
		if v := metricValue(t, f, series); v != want {
			t.Errorf("during the watch: %s = %q, want %q", series, v, want)
		}
	}
	f.do(t, http.MethodGet, "/api/v1/pods?watch=true", "").expect(t, 429,
		status(429, "TooManyRequests", msgTooManyRequests, `{"retryAfterSeconds":1}`))
	if l := watchLines(t, &logs); len(l) != 0 {
		t.Errorf("access lines of the watch before it ended: %+v", l)
	}
	_ = c.Close()
	waitClosed(t, w)
	waitMetric(t, f, kube, "1")
	for series, want := range map[string]string{watchers: "0", longRunning: "0", inflight: "0", requests: "1", kube: "1"} {
		if v := metricValue(t, f, series); v != want {
			t.Errorf("after the watch: %s = %q, want %q", series, v, want)
		}
	}
	lines := watchLines(t, &logs)
	chunk := bytes.IndexByte(body, '\n') + 1 // the chunk's size line
	event := body[chunk : len(body)-2]
	if len(lines) != 1 {
		t.Fatalf("%d access lines of the watch, want 1:\n%s", len(lines), logs.String())
	}
	checkAccess(t, lines[0], accessLine{Verb: "watch", Path: "/api/v1/namespaces/ns1/pods", User: "system:anonymous", Code: 200, Bytes: int64(len(event))})
}

// watchLines are the access lines of answered watches.
func watchLines(t *testing.T, logs *syncBuffer) []accessLine {
	var out []accessLine
	for _, l := range accessLines(t, logs) {
		if l.Verb == "watch" && l.Code == 200 {
			out = append(out, l)
		}
	}
	return out
}
