package server

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/watchcached/watchcached/api"
)

// eventSink is a frontend's side of a watch stream: the HTTP encoder
// (http_watch.go) or the gRPC sender (grpc_read.go). Its methods are
// called by the stream's goroutine only, in the order start, then send
// any number of times, then at most one fail.
type eventSink interface {
	// start tells the client that the watch was accepted, before any
	// event; watcher is the stream's, for a sink that flushes when it
	// runs dry (api.IdleNotifier); deadline is the watch's own. From
	// then on, no send may block past the deadline, nor for longer than
	// Config.SlowClientTimeout: it then fails with errStreamDeadline or
	// errSlowClient.
	start(watcher api.Watcher, deadline time.Time) error
	// send delivers one event or bookmark (bookmarks reach it only when
	// the client allows them).
	send(ev api.WatchEvent) error
	// fail ends the stream with err, a watch error to tell the client;
	// its result is the stream's.
	fail(err error) error
}

// streamMetrics are a frontend's watch metrics of one resource.
type streamMetrics struct {
	frontend string // "http" or "grpc", for the panics counter
	watchers prometheus.Gauge
	sent     prometheus.Counter     // nil: not counted
	slow     *prometheus.CounterVec // streams closed as slow, by reason
}

// errWatchesClosed refuses a watch after CloseWatches: 503
// ServiceUnavailable over HTTP, UNAVAILABLE over gRPC, with no details.
var errWatchesClosed = errors.New("the server is shutting down")

// watch serves one watch of req to sink: it checks the query, starts the
// storage's watch under the watch's deadline (B44) and CloseWatches, and
// copies events to sink until the stream ends. rejected is the error that
// kept the watch from starting (the frontend answers it as any request's
// error); otherwise ended is the stream's end: nil when it ended cleanly,
// else the sink's error.
func (s *Server) watch(ctx context.Context, req *request, q *query, sink eventSink, m streamMetrics) (rejected, ended error) {
	st, err := s.openWatch(ctx, req, q, m, true)
	if err != nil {
		return err, nil
	}
	defer st.close()
	if err := sink.start(st.watcher, st.deadline); err != nil {
		return nil, err
	}
	return nil, s.runWatch(st, sink)
}

// watchStream is one open watch: the storage's watcher under the watch's
// context. openWatch makes it, runWatch pumps it, close ends it; all on
// one goroutine at a time (an HTTP/1.1 watch hands it from its handler to
// its own goroutine, http_hijack.go), except cancel, which may be called
// from any goroutine.
type watchStream struct {
	ctx       context.Context
	cancel    context.CancelFunc
	stopAfter func() bool // takes cancel off CloseWatches
	watcher   api.Watcher
	deadline  time.Time
	bookmarks bool
	m         streamMetrics
}

// openWatch checks the query and starts the storage's watch under the
// watch's deadline (B44) and, when onStop is set, CloseWatches, as a child
// of ctx; an error kept the watch from starting. The open watch counts in
// m.watchers until close. Without onStop the caller ends the stream at
// CloseWatches itself (a taken-over watch: the registry of those is
// cheaper per watch than a registration on the stop context).
func (s *Server) openWatch(ctx context.Context, req *request, q *query, m streamMetrics, onStop bool) (*watchStream, error) {
	opts, err := q.watchOptions(req)
	if err != nil {
		return nil, err
	}
	if s.stopCtx.Err() != nil {
		return nil, errWatchesClosed
	}
	st := &watchStream{bookmarks: opts.AllowWatchBookmarks, m: m}
	st.ctx, st.cancel = context.WithTimeout(ctx, s.watchTimeout(q.timeoutSeconds))
	st.stopAfter = noStop
	if onStop {
		st.stopAfter = context.AfterFunc(s.stopCtx, st.cancel)
	}
	if st.watcher, err = req.storage().Watch(st.ctx, opts); err != nil {
		st.stopAfter()
		st.cancel()
		return nil, err
	}
	st.deadline, _ = st.ctx.Deadline()
	m.watchers.Inc()
	return st, nil
}

// noStop is the stopAfter of a stream not registered on the stop context.
func noStop() bool { return false }

// runWatch copies st's events to sink, started, until the stream ends
// (pump), recovering a panic of the pump (pumpRecovered).
func (s *Server) runWatch(st *watchStream, sink eventSink) error {
	ended := s.pumpRecovered(st.m.frontend, func() error {
		return pump(st.ctx, st.watcher, st.bookmarks, sink, st.m)
	}, sink)
	return cutStream(ended, st.m.slow)
}

// close ends the watch: the watcher is uncounted and closed, the context
// released.
func (st *watchStream) close() {
	st.m.watchers.Dec()
	st.watcher.Close()
	st.stopAfter()
	st.cancel()
}

// cutStream is the end of a stream whose sink ended it with err: nil when
// a write was cut by the slow-client timeout (counted) or by the watch's
// deadline, as the client is not reading what it would be told.
func cutStream(err error, slow *prometheus.CounterVec) error {
	switch {
	case errors.Is(err, errSlowClient):
		slow.WithLabelValues(slowReasonTimeout).Inc()
		return nil
	case errors.Is(err, errStreamDeadline):
		return nil
	}
	return err
}

// pump copies events from watcher to sink until the stream ends: cleanly
// (nil) at the deadline, when the storage ends it (io.EOF), when the
// client goes away and at CloseWatches; with sink.fail for any other error
// of Next (one that wraps an api sentinel tells the client why); with the
// sink's own error when it cannot deliver. A bookmark reaches the sink only
// when the client allows them (B42); an event without an object never. A
// storage that ended the watch because its reader was too slow (B204) is
// counted as a slow close.
func pump(ctx context.Context, watcher api.Watcher, bookmarks bool, sink eventSink, m streamMetrics) error {
	for {
		ev, err := watcher.Next(ctx)
		if err != nil {
			if endsCleanly(ctx, err) {
				return nil
			}
			if errors.Is(err, api.ErrTooSlow) {
				m.slow.WithLabelValues(slowReasonBuffer).Inc()
			}
			return sink.fail(err)
		}
		if ev.Type == api.Bookmark && !bookmarks || ev.Type != api.Bookmark && ev.Object == nil {
			continue
		}
		if err := sink.send(ev); err != nil {
			return err
		}
		if m.sent != nil {
			m.sent.Inc()
		}
	}
}

// endsCleanly reports whether err from Next ends the stream without an
// error for the client.
func endsCleanly(ctx context.Context, err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil
}

// watchersGauge is the gauge of a frontend's open watch streams by
// resource, e.g. watchcached_http_watchers.
func watchersGauge(frontend, display string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "watchcached_" + frontend + "_watchers",
		Help: "Open " + display + " watch streams by resource.",
	}, []string{"resource"})
}

// registerAll registers cs with reg.
func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
