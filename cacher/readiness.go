package cacher

import (
	"sync"
	"time"

	"github.com/watchcached/watchcached/api"
)

// state is the cache's readiness.
//
//	          list applied            watch compacted / failed relist
//	pending ───────────────▶ ready ─────────────────────────────────┐
//	   ▲                       │                                     │
//	   └───────────────────────┼─────────────────────────────────────┘
//	                           │ Close
//	                           ▼
//	                        stopped  (from any state)
type state int

const (
	statePending state = iota // initial list not (yet) applied: reads are delegated or refused
	stateReady                // serving from memory
	stateStopped              // closed: everything refused
)

func (s state) String() string {
	switch s {
	case statePending:
		return "pending"
	case stateReady:
		return "ready"
	default:
		return "stopped"
	}
}

// readiness tracks the state, broadcasts its changes, and remembers when the
// cache last stopped being ready, for the growing Retry-After of B15. Safe
// for concurrent use.
type readiness struct {
	mu      sync.Mutex
	state   state         // guarded by mu
	since   time.Time     // guarded by mu; when state last changed
	changed chan struct{} // guarded by mu; closed and replaced on every change
}

func newReadiness(now time.Time) *readiness {
	return &readiness{state: statePending, since: now, changed: make(chan struct{})}
}

// set moves to s; stopped is final.
func (r *readiness) set(s state, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == stateStopped || r.state == s {
		return
	}
	r.state, r.since = s, now
	close(r.changed)
	r.changed = make(chan struct{})
}

// get returns the state and a channel closed at the next change.
func (r *readiness) get() (state, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state, r.changed
}

func (r *readiness) is(s state) bool {
	st, _ := r.get()
	return st == s
}

// notReadyError is the 429 of B15/B35: Retry-After grows with the time the
// cache has been down, from 1 s up to 30 s.
func (r *readiness) notReadyError(now time.Time) *api.Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	retry := int(now.Sub(r.since) / time.Second)
	retry = min(max(retry, 1), 30)
	msg := "storage is (re)initializing"
	if r.state == stateStopped {
		msg = "storage is shutting down"
	}
	return &api.Error{Err: api.ErrNotReady, Message: msg, RetryAfterSeconds: retry}
}
