package server

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

// stream opens a watch and returns the response and a line reader.
func (f *fixture) stream(t *testing.T, path string) (*http.Response, *bufio.Reader) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, bufio.NewReader(resp.Body)
}

// expectLines reads exactly the given lines, then (if end) the end of the
// stream.
func expectLines(t *testing.T, r *bufio.Reader, end bool, lines ...string) {
	t.Helper()
	for i, want := range lines {
		got, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("line %d: %v (got %q)", i, err, got)
		}
		if got != want+"\n" {
			t.Fatalf("line %d:\n got %s\nwant %s", i, got, want)
		}
	}
	if end {
		if rest, err := r.ReadString('\n'); err != io.EOF || rest != "" {
			t.Fatalf("expected end of stream, got %q, %v", rest, err)
		}
	}
}

// TestWatch_Framing: events are framed around the objects' Raw bytes, one
// per line, flushed per event; bookmarks carry kind, apiVersion, the RV and
// (B33) the initial-events-end annotation; an error wrapping a sentinel
// becomes one ERROR event with its Status, then the stream ends (B32).
func TestWatch_Framing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := add(t, f.pods, "ns1", "a", nil)
	b := add(t, f.pods, "ns1", "b", nil)
	bDel := b.WithRV(9)
	w := newScriptWatcher([]api.WatchEvent{
		{Type: api.Added, Object: a, RV: a.RV},
		{Type: api.Bookmark, RV: 5, InitialEventsEnd: true},
		{Type: api.Modified, Object: b, RV: b.RV},
		{Type: api.Bookmark, RV: 8},
		{Type: api.Deleted, Object: bDel, RV: 9},
	}, api.Errorf(api.ErrExpired, "too old resource version: 3 (7)"))
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) { return w, nil })

	resp, r := f.stream(t, "/api/v1/namespaces/ns1/pods?watch=true&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
		len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("status %d, headers %v, transfer encoding %v", resp.StatusCode, resp.Header, resp.TransferEncoding)
	}
	expectLines(t, r, true,
		`{"type":"ADDED","object":`+string(a.Raw)+`}`,
		`{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"5","annotations":{"k8s.io/initial-events-end":"true"}}}}`,
		`{"type":"MODIFIED","object":`+string(b.Raw)+`}`,
		`{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"8"}}}`,
		`{"type":"DELETED","object":`+string(bDel.Raw)+`}`,
		`{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 3 (7)","reason":"Expired","details":{"kind":"pods"},"code":410}}`,
	)
	o := f.pods.lastWatchOpts()
	if o.Namespace != "ns1" || !o.AllowWatchBookmarks || o.SendInitialEvents == nil || !*o.SendInitialEvents ||
		o.ResourceVersionMatch != api.MatchNotOlderThan {
		t.Errorf("options %+v", o)
	}
	waitClosed(t, w)
}

// TestWatch_BookmarksOnlyWhenAllowed (B42): a bookmark the storage hands
// out is not sent to a client that did not allow them.
func TestWatch_BookmarksOnlyWhenAllowed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	n := add(t, f.nodes, "", "n1", nil)
	f.nodes.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		return newScriptWatcher([]api.WatchEvent{{Type: api.Bookmark, RV: 3}, {Type: api.Added, Object: n, RV: n.RV}}, io.EOF), nil
	})
	_, r := f.stream(t, "/api/v1/nodes?watch=1&resourceVersion=1")
	expectLines(t, r, true, `{"type":"ADDED","object":`+string(n.Raw)+`}`)
}

// TestWatch_ErrorBeforeStream (B32, B35): an error from Watch itself is an
// ordinary Status response.
func TestWatch_ErrorBeforeStream(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.pods.setErr(&api.Error{Err: api.ErrNotReady, Message: "storage is (re)initializing", RetryAfterSeconds: 2})
	got := f.do(t, http.MethodGet, "/api/v1/pods?watch=true", "")
	got.expect(t, 429, status(429, "TooManyRequests", "storage is (re)initializing", `{"kind":"pods","retryAfterSeconds":2}`))
	if got.header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After %q", got.header.Get("Retry-After"))
	}
}

// TestWatch_B44_Timeout: timeoutSeconds is the deadline of Next's context
// and the stream ends cleanly when Next reports it (here at once, so that
// nothing waits: conformance's B44 scenarios run a real deadline out);
// without it the server sets a deadline in [max/2, max].
func TestWatch_B44_Timeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.MaxWatchTimeout = time.Hour })
	w := newScriptWatcher(nil, context.DeadlineExceeded)
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) { return w, nil })
	start := time.Now()
	_, r := f.stream(t, "/api/v1/pods?watch=true&timeoutSeconds=7")
	expectLines(t, r, true)
	end := time.Now()
	waitClosed(t, w)
	w.mu.Lock()
	d := w.deadline
	w.mu.Unlock()
	if d.Before(start.Add(7*time.Second)) || d.After(end.Add(7*time.Second)) {
		t.Errorf("Next's deadline %v, want 7 s after the request (%v to %v)", d, start, end)
	}
	for range 100 {
		d := f.srv.watchTimeout(0)
		if d < 30*time.Minute || d > time.Hour {
			t.Fatalf("random watch timeout %v outside [30m, 60m]", d)
		}
	}
}

// TestWatch_B44_ClientGone: a client that goes away closes its watcher at
// once and frees its gauge slot.
func TestWatch_B44_ClientGone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := newScriptWatcher(nil, nil)
	opened := make(chan struct{})
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		close(opened)
		return w, nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.ts.URL+"/api/v1/pods?watch=true", nil)
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	<-opened
	cancel()
	resp.Body.Close()
	waitClosed(t, w)
}

// TestWatch_CloseWatches (B64): CloseWatches ends open streams cleanly and
// refuses new ones with 503.
func TestWatch_CloseWatches(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := newScriptWatcher(nil, nil)
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) { return w, nil })
	resp, r := f.stream(t, "/api/v1/pods?watch=true")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if m := f.do(t, http.MethodGet, "/metrics", ""); !strings.Contains(m.body, `watchcached_http_watchers{resource="pods"} 1`) {
		t.Errorf("watchers gauge missing or wrong")
	}
	f.srv.CloseWatches()
	expectLines(t, r, true)
	waitClosed(t, w)
	f.do(t, http.MethodGet, "/api/v1/pods?watch=true", "").expect(t, 503,
		status(503, "ServiceUnavailable", "the server is shutting down", ""))
}

// TestWatch_OneObject: GET of a name with watch=true watches that name.
func TestWatch_OneObject(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		return newScriptWatcher(nil, io.EOF), nil
	})
	_, r := f.stream(t, "/api/v1/namespaces/ns1/pods/web?watch=true&fieldSelector=spec.nodeName%3Dn1")
	expectLines(t, r, true)
	if got := f.pods.lastWatchOpts().Predicate.Field.String(); got != "spec.nodeName=n1,metadata.name=web" {
		t.Errorf("field selector %q", got)
	}
}

func waitClosed(t *testing.T, w *scriptWatcher) {
	t.Helper()
	select {
	case <-w.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("watcher not closed")
	}
}

// TestWriteEvent_FramesWithoutAllocating (B45): the frame around an event's
// shared Raw bytes is written from constant pieces, so writing an event to
// a watcher costs no allocation, however many watchers there are.
func TestWriteEvent_FramesWithoutAllocating(t *testing.T) {
	rt, err := newResourceTable([]api.Storage{&replayStorage{res: podsRes}})
	if err != nil {
		t.Fatal(err)
	}
	e := rt.lookup("v1", "pods")
	obj := &api.Object{Raw: []byte(`{"kind":"Pod"}`), RV: 7}
	var sb strings.Builder
	for _, typ := range []api.EventType{api.Added, api.Modified, api.Deleted} {
		if err := writeEvent(&sb, e, api.WatchEvent{Type: typ, Object: obj, RV: 7}); err != nil {
			t.Fatal(err)
		}
	}
	_ = writeEvent(&sb, e, api.WatchEvent{Type: api.Bookmark, RV: 8})
	want := `{"type":"ADDED","object":{"kind":"Pod"}}` + "\n" + `{"type":"MODIFIED","object":{"kind":"Pod"}}` + "\n" +
		`{"type":"DELETED","object":{"kind":"Pod"}}` + "\n" +
		`{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"8"}}}` + "\n"
	if sb.String() != want {
		t.Fatalf("frames:\n%s\nwant:\n%s", sb.String(), want)
	}
	ev := api.WatchEvent{Type: api.Modified, Object: obj, RV: 7}
	if n := testing.AllocsPerRun(100, func() { _ = writeEvent(io.Discard, e, ev) }); n != 0 {
		t.Fatalf("writeEvent allocates %v times per event", n)
	}
}
