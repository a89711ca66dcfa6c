package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// epoch is one list-then-watch of a watcher: a consistent LIST at start,
// then every item of every stream that resumed it, until a 410 (or a
// violation) made the watcher relist.
type epoch struct {
	start   uint64
	list    []*obj
	items   []item
	resumes []uint64 // the RV each stream of the epoch started from
	end     string   // why it ended; "" while open
}

// lastRV is the RV a stream resumes from: the last received, like
// client-go's reflector.
func (e *epoch) lastRV() uint64 {
	if len(e.items) == 0 {
		return e.start
	}
	return e.items[len(e.items)-1].rv
}

// watcher is one simulated client-go reflector: LIST, then WATCH from the
// list's RV with bookmarks, resuming from the last RV received after a
// clean end or a dropped connection, relisting after 410 Expired. Some
// are slow readers. run owns rng; the rest is guarded by mu, as the
// checker reads while it runs.
type watcher struct {
	id   int
	f    filter
	fe   frontend
	slow bool
	rng  *rand.Rand
	st   *stats
	done chan struct{}
	mu   sync.Mutex
	eps  []*epoch // guarded by mu
	bad  []string // guarded by mu; what the client itself saw as a violation
}

func (w *watcher) String() string {
	return fmt.Sprintf("watcher %d (%s, %s, slow=%v)", w.id, w.fe.name(), w.f, w.slow)
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.done)
	var ep *epoch
	for ctx.Err() == nil {
		if ep == nil {
			rv, items, end, detail := w.fe.list(ctx, w.f)
			if end != endClean {
				w.failed(ctx, "list", end, detail)
				continue
			}
			ep = &epoch{start: rv, list: items}
			w.mu.Lock()
			w.eps = append(w.eps, ep)
			w.mu.Unlock()
			w.st.add("client lists", 1)
		}
		w.mu.Lock()
		from := ep.lastRV()
		w.mu.Unlock()
		s, end, detail := w.fe.watch(ctx, w.f, from, 3+w.rng.IntN(15))
		if end == endClean {
			w.mu.Lock()
			ep.resumes = append(ep.resumes, from)
			w.mu.Unlock()
			end, detail = w.read(ctx, s, ep)
			s.close()
		}
		if ctx.Err() != nil {
			return
		}
		switch end {
		case endClean:
			w.st.add("client streams ended cleanly", 1)
		case endExpired, endBad:
			w.mu.Lock()
			ep.end = detail
			w.mu.Unlock()
			ep = nil
			w.failed(ctx, "watch", end, detail)
		default:
			w.failed(ctx, "watch", end, detail)
		}
	}
}

// failed counts a failed request, records a violation, and backs off.
func (w *watcher) failed(ctx context.Context, what string, end endKind, detail string) {
	if ctx.Err() != nil {
		return
	}
	w.st.add(fmt.Sprintf("client %s %s", what, endNames[end]), 1)
	if end == endBad {
		w.mu.Lock()
		w.bad = append(w.bad, what+": "+detail)
		w.mu.Unlock()
	}
	if end != endExpired {
		sleep(ctx, time.Duration(50+w.rng.IntN(200))*time.Millisecond) // back-off
	}
}

var endNames = map[endKind]string{endClean: "ended", endDropped: "dropped", endRetry: "refused (retried)",
	endExpired: "410 Expired", endBad: "failed unexpectedly"}

// read appends the stream's items to ep until it ends.
func (w *watcher) read(ctx context.Context, s stream, ep *epoch) (endKind, string) {
	burst := 0
	for {
		it, end, detail := s.next()
		if it == nil {
			return end, detail
		}
		w.mu.Lock()
		ep.items = append(ep.items, *it)
		w.mu.Unlock()
		if w.slow {
			if burst++; burst >= 50 {
				burst = 0
				sleep(ctx, time.Duration(200+w.rng.IntN(800))*time.Millisecond) // a slow client
			} else {
				sleep(ctx, time.Millisecond)
			}
		}
	}
}
