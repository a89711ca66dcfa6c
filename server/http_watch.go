package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/watchcached/watchcached/api"
)

// serveWatch streams a watch. The handler's goroutine is the watcher's
// reader: it pulls events with Next and writes each one framed around the
// event object's Raw bytes, flushing per event, so an event is never
// encoded per watcher (B45).
//
// The stream ends cleanly (no ERROR) at the watch's deadline (B44), when
// the storage ends it (io.EOF), when the client goes away (the watcher is
// closed at once) and at CloseWatches. An error from Next that wraps an api
// sentinel becomes one ERROR event carrying its Status, then the end.
// Errors before the stream starts are ordinary Status responses.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, req *request) {
	q := r.URL.Query()
	opts, err := watchOptions(q, req)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	if s.stopCtx.Err() != nil {
		writeStatus(w, newStatus(http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "the server is shutting down"))
		return
	}
	timeout, _ := timeoutParam(q) // validated by watchOptions
	if timeout == 0 {
		timeout = s.randomWatchTimeout()
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	defer context.AfterFunc(s.stopCtx, cancel)()

	watcher, err := req.entry.storage.Watch(ctx, opts)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	defer watcher.Close()
	gauge := s.metrics.watchers.WithLabelValues(req.entry.res.GroupResource())
	gauge.Inc()
	defer gauge.Dec()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	s.streamEvents(ctx, w, rc, watcher, req, opts.AllowWatchBookmarks)
}

// streamEvents copies events from watcher to w until the stream ends.
//
// An idle watcher holds no buffer of its own: each event is written in
// pieces straight into the response's own buffered writer (the object's
// shared Raw bytes are never copied into a per-watcher frame).
func (s *Server) streamEvents(ctx context.Context, w io.Writer, rc *http.ResponseController, watcher api.Watcher, req *request, bookmarks bool) {
	// A watcher that says when it runs dry is flushed then, once per burst
	// (e.g. once for thousands of initial events); any other after each event.
	flushEach := true
	if n, ok := watcher.(api.IdleNotifier); ok {
		n.NotifyIdle(func() { _ = rc.Flush() })
		flushEach = false
	}
	for {
		ev, err := watcher.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) ||
				errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				return
			}
			_, _ = w.Write(appendErrorEvent(nil, errorStatus(s.log, err, req)))
			_ = rc.Flush()
			return
		}
		if ev.Type == api.Bookmark && !bookmarks || ev.Type != api.Bookmark && ev.Object == nil {
			continue
		}
		if writeEvent(w, req.entry, ev) != nil {
			return
		}
		if flushEach && rc.Flush() != nil {
			return
		}
	}
}

// writeEvent writes one event frame, {"type":"ADDED","object":<Raw>}\n, or
// a bookmark. The frame's constant parts are shared, read-only slices, so
// an event costs no allocation per watcher.
func writeEvent(w io.Writer, e *resourceEntry, ev api.WatchEvent) error {
	if ev.Type == api.Bookmark {
		_, err := w.Write(appendBookmark(make([]byte, 0, 256), e, ev))
		return err
	}
	head := frameHeads[ev.Type]
	if head == nil {
		head = []byte(`{"type":` + quote(string(ev.Type)) + `,"object":`)
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	if _, err := w.Write(ev.Object.Raw); err != nil {
		return err
	}
	_, err := w.Write(frameTail)
	return err
}

// frameHeads and frameTail are the constant parts of an event frame.
// Read-only.
var (
	frameHeads = map[api.EventType][]byte{
		api.Added:    []byte(`{"type":"ADDED","object":`),
		api.Modified: []byte(`{"type":"MODIFIED","object":`),
		api.Deleted:  []byte(`{"type":"DELETED","object":`),
	}
	frameTail = []byte("}\n")
)

// appendBookmark frames a bookmark whose object carries only kind,
// apiVersion and the RV (plus the initial-events-end annotation, B33).
func appendBookmark(buf []byte, e *resourceEntry, ev api.WatchEvent) []byte {
	buf = append(buf, e.bookmarkHead...)
	buf = strconv.AppendUint(buf, ev.RV, 10)
	buf = append(buf, '"')
	if ev.InitialEventsEnd {
		buf = append(buf, `,"annotations":{"k8s.io/initial-events-end":"true"}`...)
	}
	return append(buf, "}}}\n"...)
}

// appendErrorEvent frames {"type":"ERROR","object":<Status>}\n.
func appendErrorEvent(buf []byte, st *metav1.Status) []byte {
	b, err := json.Marshal(st)
	if err != nil {
		b = []byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","reason":"InternalError","code":500}`)
	}
	buf = append(buf, `{"type":"ERROR","object":`...)
	buf = append(buf, b...)
	return append(buf, "}\n"...)
}

// randomWatchTimeout is the duration of a watch whose client set no
// timeoutSeconds: uniform in [max/2, max], so that many clients that
// connected together do not all reconnect together (B44).
func (s *Server) randomWatchTimeout() time.Duration {
	half := s.cfg.MaxWatchTimeout / 2
	return half + time.Duration(rand.Int64N(int64(s.cfg.MaxWatchTimeout-half)+1))
}
