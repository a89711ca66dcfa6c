package interval

import (
	"errors"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
)

// BufferSize is the most events an Interval copies out of the ring at once
// (and so the most it holds): the read lock is held for one such copy.
const BufferSize = 128

// Interval is one watcher's lazy view of a WatchCache's ring: the events
// with RV above a starting RV, in order, handed out one at a time. Not safe
// for concurrent use: it belongs to the watcher's goroutine. It holds no lock
// between calls and no event it has handed out.
//
// Invariant: buf[pos:] are copied, not yet handed out events with RVs in
// non-decreasing order, none below lastRV (events of one etcd revision
// share its RV), every one's key under prefix; next is the ring index
// after the last event looked at (copied or skipped for its key); once err
// is set, no more events are copied.
type Interval struct {
	wc     *watchcache.WatchCache
	next   uint64       // absolute ring index of the next event to copy
	minRV  uint64       // the start RV: events at or below it are skipped
	lastRV uint64       // RV of the last event handed out, or the start RV
	buf    []*api.Event // allocated at the first copy that finds events
	pos    int          // buf[pos:] is not yet handed out
	err    error        // sticky expired error, returned once buf is drained
	prefix string       // only events whose key has it are copied ("" all)
}

// New opens an interval of the events with RV > fromRV. fromRV may be in the
// future (then only events above it are returned). If the ring no longer
// holds every event after fromRV, the error is api.TooOldRV (it
// wraps api.ErrExpired, B32). It allocates the same few words whatever the
// history holds: the buffer comes with the first events.
func New(wc *watchcache.WatchCache, fromRV uint64) (*Interval, error) {
	next, err := wc.IndexAfter(fromRV)
	if err != nil {
		return nil, err
	}
	return &Interval{wc: wc, next: next, minRV: fromRV, lastRV: fromRV}, nil
}

// NewUnder is New for the events whose key starts with prefix: the others
// are skipped as they are copied out of the ring (a key comparison each),
// so a watcher of one namespace is handed, and buffers, only its own.
func NewUnder(wc *watchcache.WatchCache, fromRV uint64, prefix string) (*Interval, error) {
	i, err := New(wc, fromRV)
	if err != nil {
		return nil, err
	}
	i.prefix = prefix
	return i, nil
}

// Next returns the next event; it never blocks. (nil, nil) means the
// interval has caught up with the ring: wait on the cache's Changed()
// (fetched before this call) and call again. Once the ring has overwritten
// an event the interval still needed (or a Replace reset the ring), Next
// first returns the events it had already copied, then, for good, an error
// wrapping api.ErrExpired ("too old resource version: <last RV> (<oldest>)").
func (i *Interval) Next() (*api.Event, error) {
	for {
		if i.pos < len(i.buf) {
			ev := i.buf[i.pos]
			i.buf[i.pos] = nil // the watcher's copy is the only one now
			i.pos++
			if ev.RV <= i.minRV {
				continue
			}
			i.lastRV = ev.RV
			return ev, nil
		}
		if i.err != nil {
			return nil, i.err
		}
		if n, err := i.refill(); n == 0 || err != nil {
			return nil, err
		}
	}
}

// NextInRevision returns the next event if it belongs to the same etcd
// revision as the last one handed out (same RV), else (nil, nil). A watcher
// that must end uses it to finish the revision it is in, so a client
// resuming from the last RV it received never loses the rest of that
// revision. It never blocks: a revision is in the ring whole once any of it
// is. If the ring overtook the interval inside a revision, the error is the
// expired one: the stream must end with it, not quietly.
func (i *Interval) NextInRevision() (*api.Event, error) {
	if i.lastRV == i.minRV {
		return nil, nil
	}
	if i.pos == len(i.buf) {
		if i.err != nil {
			return nil, i.err
		}
		if n, err := i.refill(); n == 0 || err != nil {
			return nil, err
		}
	}
	if ev := i.buf[i.pos]; ev.RV == i.lastRV {
		i.buf[i.pos] = nil
		i.pos++
		return ev, nil
	}
	return nil, nil
}

// LastRV is the RV of the last event handed out, or the start RV.
func (i *Interval) LastRV() uint64 { return i.lastRV }

// refill copies the next events of the ring into the (drained) buffer.
//
// The buffer adapts to the watcher's traffic, so an idle watcher holds
// almost nothing: it starts at minBuffer slots, doubles (up to BufferSize)
// each time a refill fills it, and is dropped when a refill finds the
// interval caught up. A watcher that sees a trickle of events thus keeps a
// 64-byte buffer; one in a burst copies up to BufferSize events per lock.
func (i *Interval) refill() (int, error) {
	if i.buf == nil {
		// Copy into the stack first: an idle watcher allocates only when
		// there are events, and takes the lock once for them.
		var first [minBuffer]*api.Event
		n, err := i.copyEvents(first[:])
		if n == 0 {
			return 0, i.fail(err)
		}
		i.buf, i.pos = append(make([]*api.Event, 0, minBuffer), first[:n]...), 0
		return n, nil
	} else if len(i.buf) == cap(i.buf) && cap(i.buf) < BufferSize {
		i.buf = make([]*api.Event, 0, min(2*cap(i.buf), BufferSize))
	}
	i.buf, i.pos = i.buf[:0], 0
	n, err := i.copyEvents(i.buf[:cap(i.buf)])
	if err != nil {
		return 0, i.fail(err)
	}
	if n == 0 {
		i.buf, i.pos = nil, 0 // caught up: hold nothing while idle
		return 0, nil
	}
	i.buf, i.pos = i.buf[:n], 0
	return n, nil
}

// copyEvents copies the next events under the interval's prefix into dst
// and moves next past every event it looked at; 0 means caught up (or an
// error).
func (i *Interval) copyEvents(dst []*api.Event) (int, error) {
	for {
		n, scanned, err := i.wc.CopyEventsUnder(i.next, dst, i.prefix)
		i.next += scanned
		if n > 0 || scanned == 0 || err != nil {
			return n, err
		}
	}
}

// minBuffer is the size of a fresh buffer.
const minBuffer = 8

// fail turns a ring error into the client-facing expired error and keeps it.
func (i *Interval) fail(err error) error {
	if err == nil {
		return nil
	}
	var ie *watchcache.IndexExpiredError
	if errors.As(err, &ie) {
		err = api.TooOldRV(i.lastRV, ie.Oldest)
	}
	i.err = err
	return err
}
