package etcdstore

import (
	"context"
	"sync"

	"github.com/watchcached/watchcached/api"
)

// DefaultDirectWatchBuffer is how many events a watch served straight
// from etcd (Store.Watch) holds for a reader that has not taken them,
// by default (Config.DirectWatchBuffer).
const DefaultDirectWatchBuffer = 1000

// batchQueue carries a direct watch's batches from etcd to its reader
// (B204). It takes every batch as soon as etcd's client hands it over, so
// that client never buffers for a slow reader (it would, without bound),
// and holds at most max events itself; a batch that would go past max
// (unless the queue is empty: one batch always fits) cancels the etcd
// watch, and the reader gets, after the batches already held, a 410 that
// matches api.ErrTooSlow. The pump goroutine is the only writer; pop is
// called by the reader; both hold mu.
type batchQueue struct {
	max   int
	ready chan struct{} // capacity 1: a push or the end happened since the last wait
	done  chan struct{} // closed when the pump has returned

	mu     sync.Mutex
	items  []api.SourceBatch // guarded by mu
	events int               // guarded by mu: the events in items
	end    bool              // guarded by mu: nothing follows items
}

// newBatchQueue starts pumping in (closed by its producer once cancel
// has been called or the watch ended) into a queue of max events.
func newBatchQueue(in <-chan api.SourceBatch, max int, cancel context.CancelFunc) *batchQueue {
	q := &batchQueue{max: max, ready: make(chan struct{}, 1), done: make(chan struct{})}
	go q.pump(in, cancel)
	return q
}

func (q *batchQueue) pump(in <-chan api.SourceBatch, cancel context.CancelFunc) {
	defer close(q.done)
	defer q.signal()
	for r := range in {
		if !q.push(r) {
			cancel()
			for range in { // the producer ends once cancelled
			}
			return
		}
	}
	q.mu.Lock()
	q.end = true
	q.mu.Unlock()
}

// push appends r, or, when r would take the queue past max, the too-slow
// error instead; it reports whether the watch goes on.
func (q *batchQueue) push(r api.SourceBatch) bool {
	defer q.signal()
	q.mu.Lock()
	defer q.mu.Unlock()
	if n := len(r.Events); q.events > 0 && q.events+n > q.max {
		q.items = append(q.items, api.SourceBatch{Err: newTooSlowError(q.max)})
		q.end = true
		return false
	}
	q.items = append(q.items, r)
	q.events += len(r.Events)
	return true
}

func (q *batchQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop takes the oldest batch: ok is false when there is none, and then
// end tells whether one may still come (wait on ready).
func (q *batchQueue) pop() (r api.SourceBatch, ok, end bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return r, false, q.end
	}
	r = q.items[0]
	q.items[0] = api.SourceBatch{}
	q.items = q.items[1:]
	q.events -= len(r.Events)
	return r, true, false
}

// tooSlowError is the 410 of a direct watch whose buffer filled up; it
// matches both api.ErrExpired and api.ErrTooSlow.
type tooSlowError struct{ err *api.Error }

func newTooSlowError(max int) error {
	return &tooSlowError{api.Errorf(api.ErrExpired,
		"watch closed: the client is too slow, more than %d changes were waiting for it; relist", max)}
}

func (e *tooSlowError) Error() string { return e.err.Message }

// Unwrap yields the *api.Error (so api.ErrExpired).
func (e *tooSlowError) Unwrap() error { return e.err }

// Is matches api.ErrTooSlow.
func (e *tooSlowError) Is(target error) bool { return target == api.ErrTooSlow }
