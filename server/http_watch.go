package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/kubeproto"
	"github.com/watchcached/watchcached/server/table"
)

// serveWatch streams a watch through the one stream loop (core_stream.go)
// with an httpEncoder: one goroutine is the watcher's reader, which pulls
// events with Next and writes each one framed around the event object's
// Raw bytes, so an event is never encoded per watcher (B45). Over
// HTTP/1.1 that goroutine is the watch's own, once the head is out and
// the connection taken over (http_hijack.go); otherwise the handler's.
//
// The stream ends cleanly (no ERROR) at the watch's deadline (B44), when
// the storage ends it (io.EOF), when the client goes away (the watcher is
// closed at once) and at CloseWatches. An error from Next that wraps an api
// sentinel becomes one ERROR event carrying its Status, then the end.
// Errors before the stream starts are ordinary Status responses.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, req *request, q *query) {
	topts, err := tableRequest(r)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	enc := &httpEncoder{w: w, out: &responseOut{w: w, rc: http.NewResponseController(w)}, req: req, log: s.log,
		slow: s.cfg.SlowClientTimeout, wire: req.wire, table: topts}
	m := streamMetrics{frontend: "http", watchers: s.metrics.watchers.WithLabelValues(req.entry.res.GroupResource()),
		slow: s.metrics.slowBy("http")}
	end := requestEndOf(r.Context())
	takeOver := end != nil && canTakeOver(w, r)
	parent := r.Context()
	if takeOver {
		// The stream may outlive the request, whose context net/http
		// cancels when the handler returns: until the take-over, the
		// request's end cancels the stream; after it, the connection's.
		parent = context.Background()
	}
	st, err := s.openWatch(parent, req, q, m, !takeOver)
	if err != nil {
		writeError(w, s.log, err, req)
		return
	}
	if takeOver {
		stop := context.AfterFunc(r.Context(), st.cancel)
		defer stop()
	}
	if takeOver {
		// The connection is closed after the last chunk (it is no longer
		// net/http's to keep alive): said in the head, so that no client
		// puts it back in its pool and sends a request down it that the
		// close would lose (a PUT is not retried).
		w.Header().Set("Connection", "close")
	}
	if err := enc.start(st.watcher, st.deadline); err != nil {
		st.close()
		return
	}
	if takeOver {
		if s.takeOver(enc, st, end) {
			return
		}
		// Served here after all: CloseWatches must end it.
		st.stopAfter = context.AfterFunc(s.stopCtx, st.cancel)
	}
	defer st.close()
	_ = s.runWatch(st, enc)
	// The end of the response (the last chunk) gets the slow-client
	// timeout too, not the watch's passed deadline.
	_ = enc.out.SetWriteDeadline(time.Now().Add(enc.slow))
}

// httpEncoder is the HTTP side of a watch stream. An idle stream holds no
// buffer of its own: each event is written in pieces straight into the
// response's own buffered writer (the object's shared Raw bytes are never
// copied into a per-watcher frame). A watcher that says when it runs dry
// (api.IdleNotifier) is flushed then, once per burst (e.g. once for
// thousands of initial events); any other after each event.
//
// Every write and flush runs under the connection's write deadline (see
// arm): a client that stops reading is cut at the watch's deadline or
// once a write or flush has been blocked for SlowClientTimeout, whichever
// is first. Used by the stream's goroutine only (the idle callback runs on
// it too, inside Next).
type httpEncoder struct {
	// w is the response, for its header; nil once the connection was
	// taken over (http_hijack.go).
	w http.ResponseWriter
	// out is where the body goes: the response (responseOut) or, once
	// taken over, the connection (chunkedBody).
	out       streamOut
	req       *request
	log       *slog.Logger
	flushEach bool
	slow      time.Duration // Config.SlowClientTimeout
	deadline  time.Time     // the watch's
	limit     time.Time     // the write deadline set last; zero: to be set
	bySlow    bool          // limit is the slow-client one
	written   int           // bytes written since limit was set
	noLimit   bool          // the writer has no write deadline (ErrNotSupported)
	err       error         // the idle flush's, for the next send
	// table, when set, sends each event's object as a Table (B226); its
	// NoHeaders is set once the first one went out.
	table *table.Options
	wire  wireFormat // JSON lines or protobuf frames
}

// armBytes is how much an encoder writes under one write deadline before
// it sets a later one (time.Now costs as much as writing a small frame).
const armBytes = 32 << 10

func (e *httpEncoder) start(watcher api.Watcher, deadline time.Time) error {
	e.deadline = deadline
	switch {
	case e.table != nil:
		e.w.Header().Set("Content-Type", tableContentType(e.table))
	case e.wire == wireProtobuf:
		e.w.Header().Set("Content-Type", kubeproto.WatchMediaType)
	default:
		e.w.Header().Set("Content-Type", "application/json")
	}
	// The header goes out on a fresh stack, so that the goroutine that
	// then parks for the whole watch keeps a small one (fresh_stack.go).
	if err := onFreshStack(func() error {
		e.w.WriteHeader(http.StatusOK)
		return e.flush()
	}); err != nil {
		return err
	}
	e.flushEach = true
	if n, ok := watcher.(api.IdleNotifier); ok {
		n.NotifyIdle(func() {
			if e.err == nil {
				e.err = e.flush()
			}
		})
		e.flushEach = false
	}
	return nil
}

func (e *httpEncoder) send(ev api.WatchEvent) error {
	if e.err != nil {
		return e.err
	}
	if e.stale() {
		e.arm()
	}
	switch {
	case e.table != nil:
		if err := e.writeTableEvent(e.out, e.req.entry, ev); err != nil {
			return blockedErr(err, e.limit, e.bySlow)
		}
		if ev.Object != nil {
			e.written += len(ev.Object.Raw)
		}
	case e.wire == wireProtobuf:
		n, err := writeProtoEvent(e.out, e.req.entry.res, ev)
		if errors.Is(err, errEncoding) {
			_ = e.fail(err)
			return err
		}
		if err != nil {
			return blockedErr(err, e.limit, e.bySlow)
		}
		e.written += n
	default:
		if err := writeEvent(e.out, e.req.entry, ev); err != nil {
			return blockedErr(err, e.limit, e.bySlow)
		}
		if ev.Object != nil {
			e.written += len(ev.Object.Raw)
		}
	}
	if e.flushEach {
		return e.flush()
	}
	return nil
}

// flush sends what is buffered under the write deadline. After the
// flush at the end of a burst, the next write, which may come much later,
// sets a new one.
func (e *httpEncoder) flush() error {
	if e.limit.IsZero() {
		e.arm()
	}
	err := e.out.Flush()
	if err != nil {
		return blockedErr(err, e.limit, e.bySlow)
	}
	if !e.flushEach {
		e.limit = time.Time{}
	}
	return nil
}

// stale reports whether the write deadline must be set before the next
// write: none is set, armBytes were written under it, or (flushing each
// event, where no burst ends) it was set more than a tenth of
// SlowClientTimeout ago, so that a stalled client is cut at most 10% early.
func (e *httpEncoder) stale() bool {
	if e.limit.IsZero() || e.written >= armBytes {
		return true
	}
	return e.flushEach && e.bySlow && e.limit.Sub(time.Now()) < e.slow-e.slow/10
}

// arm sets the connection's write deadline for writes that start now
// (sendLimit).
func (e *httpEncoder) arm() {
	e.limit, e.bySlow = sendLimit(time.Now(), e.deadline, e.slow)
	e.written = 0
	if !e.noLimit {
		e.noLimit = e.out.SetWriteDeadline(e.limit) != nil
	}
}

// fail writes the ERROR event of err and ends the stream.
func (e *httpEncoder) fail(err error) error {
	if e.limit.IsZero() {
		e.arm()
	}
	st := errorStatus(e.log, err, e.req)
	if e.wire == wireProtobuf {
		_, _ = e.out.Write(appendProtoErrorEvent(nil, st))
	} else {
		_, _ = e.out.Write(appendErrorEvent(nil, st))
	}
	_ = e.flush()
	return nil
}

// streamOut is where an httpEncoder writes a watch's body, under write
// deadlines. Used by the stream's goroutine only.
type streamOut interface {
	io.Writer
	// Flush sends what is buffered.
	Flush() error
	// SetWriteDeadline bounds the writes and flushes that follow.
	SetWriteDeadline(t time.Time) error
}

// responseOut writes through net/http's response.
type responseOut struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (o *responseOut) Write(p []byte) (int, error)        { return o.w.Write(p) }
func (o *responseOut) Flush() error                       { return o.rc.Flush() }
func (o *responseOut) SetWriteDeadline(t time.Time) error { return o.rc.SetWriteDeadline(t) }

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
