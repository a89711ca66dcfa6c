package server

import (
	"context"
	"net/http"
	"sync"
)

// End-of-request work that can outlive the handler (B253). A middleware
// whose work happens once a request has been answered (the access log
// line, the request metrics, the admission slot, the long-running gauge)
// hands that work to atEnd from its deferred function instead of doing
// it there. Normally atEnd runs it at once, so nothing changes. An
// HTTP/1.1 watch that takes its connection over (http_hijack.go) detaches
// its request first: the handlers then return at once, freeing net/http's
// goroutine and buffers, and their work is queued and runs, in the order
// it would have run, when the watch's own goroutine ends the stream.
//
// Queued work must not keep the *http.Request or the ResponseWriter
// alive: it is held for the whole watch. Each middleware takes what it
// needs (strings, the status code) before it calls atEnd.

// requestEnd is one request's end-of-request state. Safe for concurrent
// use: the handler's goroutine queues work while the detached stream's
// goroutine may already be ending.
type requestEnd struct {
	mu       sync.Mutex
	detached bool                // a stream carries on after the handlers return; guarded by mu
	returned bool                // the handler that made it returned; guarded by mu
	finished bool                // the detached stream ended; guarded by mu
	bytes    int64               // body bytes the detached stream wrote; set with finished
	work     []func(bytes int64) // queued since detach, in run order; guarded by mu
}

type requestEndKey struct{}

// requestEndOf is the requestEnd of the request ctx belongs to, or nil.
func requestEndOf(ctx context.Context) *requestEnd {
	e, _ := ctx.Value(requestEndKey{}).(*requestEnd)
	return e
}

// withRequestEnd gives r a requestEnd, unless an outer handler did. The
// caller defers returned (a no-op when the requestEnd is the outer
// handler's, which returns it itself) before any of its own atEnd calls,
// so that it runs after them.
func withRequestEnd(r *http.Request) (_ *http.Request, returned func()) {
	if requestEndOf(r.Context()) != nil {
		return r, func() {}
	}
	e := &requestEnd{}
	return r.WithContext(context.WithValue(r.Context(), requestEndKey{}, e)), e.handlerReturned
}

// atEnd runs f now, with no bytes written after a detach, unless the
// request of ctx was detached: then f is queued for the stream's end and
// gets the body bytes the stream wrote. Call it from the handler's
// goroutine, where the work would otherwise have been deferred.
func atEnd(ctx context.Context, f func(bytes int64)) {
	if e := requestEndOf(ctx); e != nil {
		e.mu.Lock()
		if e.detached {
			e.work = append(e.work, f)
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
	}
	f(0)
}

// detach makes later atEnd calls queue their work until finish. Called
// by the handler's goroutine, before its handlers return.
func (e *requestEnd) detach() {
	e.mu.Lock()
	e.detached = true
	e.mu.Unlock()
}

// handlerReturned is deferred by the handler that made e; once it and
// finish were both called, the queued work runs (on whichever goroutine
// came second).
func (e *requestEnd) handlerReturned() {
	e.mu.Lock()
	e.returned = true
	run := e.detached && e.finished
	e.mu.Unlock()
	if run {
		e.runWork()
	}
}

// finish ends a detached request: the stream wrote bytes of body after
// the detach.
func (e *requestEnd) finish(bytes int64) {
	e.mu.Lock()
	e.finished, e.bytes = true, bytes
	run := e.returned
	e.mu.Unlock()
	if run {
		e.runWork()
	}
}

// runWork runs the queued work once both sides are done; nothing else
// touches work then.
func (e *requestEnd) runWork() {
	for _, f := range e.work {
		f(e.bytes)
	}
	e.work = nil
}
