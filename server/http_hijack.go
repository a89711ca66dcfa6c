package server

import (
	"context"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// HTTP/1.1 watches take their connection over (B253). net/http holds
// ~24 KB per open request (its connection goroutine's 8 KiB stack, its
// background reader, 10 KiB of bufio buffers, the request's objects),
// all of it for the whole life of an idle watch. Once the response's head
// is out (written through net/http exactly as for any watch), the watch
// hijacks the connection, continues the chunked body itself
// (chunkedBody: the same bytes on the wire), and runs its stream on a
// goroutine of its own with a shallow stack; the handler returns, which
// frees everything net/http held. An idle watch then holds its stream
// goroutine and no write buffer; the client going away is noticed for
// all connections at once (goneWatcher, Linux; elsewhere, and under a
// connection wrapper that hides the descriptor, each has a reader
// goroutine).
//
// The end-of-request work of the handlers (access log, request metrics,
// admission, the long-running gauge) runs when the stream ends
// (request_end.go). The connection is closed after the body's last
// chunk; it still counts in the connection limit and gauge until then.
// http.Server.Shutdown does not see it: CloseWatches ends the stream and
// WaitWatches waits for it (or closes it).
//
// Not taken over: HTTP/2 (no hijacking there), HTTP/1.0 (no chunked
// framing: net/http ends the body by closing) and a ResponseWriter that an
// outer middleware wrapped or that cannot hijack (canTakeOver; the watch
// then stays on net/http as before). Watches are never gzip-encoded.

// canTakeOver reports whether the watch of r, answered on w, may take its
// connection over: an HTTP/1.1 (or later 1.x) GET, whose body net/http
// frames in chunks, answered on net/http's own ResponseWriter (under the
// server's statusRecorders). A writer that an outer middleware wrapped
// around it (one that unwraps to a Hijacker but is none itself) keeps the
// watch on net/http: that middleware expects the body to pass through it
// and the handler to last as long as the response.
func canTakeOver(w http.ResponseWriter, r *http.Request) bool {
	if r.ProtoMajor != 1 || r.ProtoMinor < 1 || r.Method != http.MethodGet {
		return false
	}
	for {
		rec, ok := w.(*statusRecorder)
		if !ok {
			break
		}
		w = rec.ResponseWriter
	}
	_, ok := w.(http.Hijacker)
	return ok
}

// takeOver hijacks the connection of enc's watch, whose head went out,
// and serves st on the watch's own goroutine; false, with nothing
// changed, when the connection cannot be hijacked. On true the caller
// returns at once and must not use the request or enc any more.
func (s *Server) takeOver(enc *httpEncoder, st *watchStream, end *requestEnd) bool {
	rc := enc.out.(*responseOut).rc
	conn, _, err := rc.Hijack()
	if err != nil {
		return false
	}
	// The connection's reader is dropped: a client may not send another
	// request on it, and its bytes are ignored.
	h := &hijackedWatch{s: s, conn: conn, st: st, end: end, body: &chunkedBody{conn: conn}}
	enc.w, enc.out = nil, h.body
	end.detach()
	if !s.hijacks.add(h) {
		st.cancel() // CloseWatches came first
	}
	if !s.gone.add(h) { // else the shared poller notices the client going away
		h.readerDone = make(chan struct{})
		go h.read()
	}
	go h.serve(enc)
	return true
}

// hijackedWatch is one watch serving its taken-over connection. Its
// fields are fixed at takeOver; body is used by the stream's goroutine
// only.
type hijackedWatch struct {
	s          *Server
	conn       net.Conn
	st         *watchStream
	end        *requestEnd
	body       *chunkedBody
	readerDone chan struct{} // closed when read returned; nil without a reader
	rbuf       [8]byte       // read's; the client's bytes are dropped
	// goneID and goneRC are the connection's registration with the
	// server's goneWatcher (Linux), set by its add.
	goneID uint64
	goneRC syscall.RawConn
}

// read waits for the client to go away (or the connection to be closed)
// and then ends the stream, as the request's context did on net/http:
// for a connection the server's goneWatcher cannot watch.
func (h *hijackedWatch) read() {
	defer close(h.readerDone)
	for {
		if _, err := h.conn.Read(h.rbuf[:]); err != nil {
			h.st.cancel()
			return
		}
	}
}

// serve runs the stream on the watch's goroutine, then ends the body with
// its last chunk, closes the connection and runs the request's end. A
// panic outside the pump (which recovers its own, pumpRecovered) is
// recovered, logged and counted, and the connection closed without the
// last chunk, so the client sees a broken stream.
func (h *hijackedWatch) serve(enc *httpEncoder) {
	defer h.close()
	defer func() {
		if v := recover(); v != nil {
			h.s.recovered("http", v, "stream", "watch")
		}
	}()
	h.stream(enc)
	// The last chunk gets the slow-client timeout, not the watch's
	// passed deadline.
	_ = h.conn.SetWriteDeadline(time.Now().Add(enc.slow))
	_ = h.body.end()
}

// stream pumps the watch, then ends it.
func (h *hijackedWatch) stream(enc *httpEncoder) {
	defer h.st.close()
	_ = h.s.runWatch(h.st, enc)
}

// close closes the connection, waits for the reader and runs the
// request's end-of-request work.
func (h *hijackedWatch) close() {
	h.s.gone.remove(h)
	_ = h.conn.Close()
	if h.readerDone != nil {
		<-h.readerDone
	}
	h.st.cancel() // already, unless a panic cut the stream's close short
	h.s.hijacks.remove(h)
	h.end.finish(h.body.bytes)
}

// hijacks are the open taken-over watches, for WaitWatches. Safe for
// concurrent use.
type hijacks struct {
	mu      sync.Mutex
	open    map[*hijackedWatch]struct{} // guarded by mu
	drained chan struct{}               // closed when open empties; nil: nobody waits; guarded by mu
	stopped bool                        // cancelAll was called; guarded by mu
}

// add registers h; false once cancelAll was called (h is registered
// all the same, for WaitWatches).
func (hs *hijacks) add(h *hijackedWatch) bool {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.open == nil {
		hs.open = map[*hijackedWatch]struct{}{}
	}
	hs.open[h] = struct{}{}
	return !hs.stopped
}

// cancelAll ends the stream of every open taken-over watch, and of every
// one added later (CloseWatches).
func (hs *hijacks) cancelAll() {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.stopped = true
	for h := range hs.open {
		h.st.cancel()
	}
}

func (hs *hijacks) remove(h *hijackedWatch) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	delete(hs.open, h)
	if len(hs.open) == 0 && hs.drained != nil {
		close(hs.drained)
		hs.drained = nil
	}
}

// waitEmpty is closed once no taken-over watch is open.
func (hs *hijacks) waitEmpty() <-chan struct{} {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if len(hs.open) == 0 {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	if hs.drained == nil {
		hs.drained = make(chan struct{})
	}
	return hs.drained
}

// closeAll closes the connection of every open taken-over watch.
func (hs *hijacks) closeAll() {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for h := range hs.open {
		_ = h.conn.Close()
	}
}

// WaitWatches waits until every HTTP/1.1 watch whose connection was taken
// over (which http.Server.Shutdown does not see) has ended and closed its
// connection; call it after CloseWatches, with the shutdown's context.
// When ctx ends first (a client that does not read holds its stream up to
// the slow-client timeout), it closes their connections, waits for their
// goroutines and returns ctx's error.
func (s *Server) WaitWatches(ctx context.Context) error {
	select {
	case <-s.hijacks.waitEmpty():
		return nil
	case <-ctx.Done():
	}
	s.hijacks.closeAll()
	<-s.hijacks.waitEmpty()
	return ctx.Err()
}
