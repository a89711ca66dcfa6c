package server

import (
	"errors"
	"time"
)

// DefaultSlowClientTimeout is how long a watch's client may go without
// accepting a byte before the stream is closed (Config.SlowClientTimeout).
const DefaultSlowClientTimeout = 60 * time.Second

// errSlowClient ends a watch whose client accepted no byte for
// Config.SlowClientTimeout; errStreamDeadline one whose write was still
// blocked at the watch's own deadline. Neither reaches the client (it is
// not reading): the stream is cut, the first one is counted
// (watchcached_watches_closed_slow_total).
var (
	errSlowClient     = errors.New("watch closed: the client accepted no data for the slow-client timeout")
	errStreamDeadline = errors.New("watch closed: a write was still blocked at the watch's deadline")
)

// sendLimit is when a write that starts at now must have completed: the
// watch's deadline or now+slow, whichever is first; bySlow reports the
// latter.
func sendLimit(now, deadline time.Time, slow time.Duration) (limit time.Time, bySlow bool) {
	if s := now.Add(slow); s.Before(deadline) {
		return s, true
	}
	return deadline, false
}

// blockedErr is the error of a write that failed or timed out with the
// limit it had: errSlowClient or errStreamDeadline once the limit passed,
// else err itself (the connection broke for another reason).
func blockedErr(err error, limit time.Time, bySlow bool) error {
	if time.Now().Before(limit) {
		return err
	}
	if bySlow {
		return errSlowClient
	}
	return errStreamDeadline
}
