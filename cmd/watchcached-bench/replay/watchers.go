package replay

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchcached/watchcached/cmd/watchcached-bench/kube"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/measure"
)

// watcher is one watch client. Its goroutine owns every field but the
// atomics, which the drain loop reads.
type watcher struct {
	node   string // "" watches everything
	sample bool   // record receipt times

	count    atomic.Int64
	lastRV   atomic.Int64
	sum      int64 // sum of received RVs (a cheap identity check)
	disorder int64
	errs     int64
	recv     [][2]int64 // (rev, UnixNano) when sample
}

// run watches from rv until ctx is done, resuming from the last received
// RV when the server ends the stream (B41: no gap on resume).
func (w *watcher) run(ctx context.Context, c *kube.Client, path string, rv int64, events *measure.Counter, ready func()) {
	readyOnce := sync.OnceFunc(ready)
	defer readyOnce()
	for ctx.Err() == nil {
		q := url.Values{"resourceVersion": {strconv.FormatInt(max(rv, w.lastRV.Load()), 10)}}
		if w.node != "" {
			q.Set("fieldSelector", "spec.nodeName="+w.node)
		}
		st, err := c.Watch(ctx, path, q)
		if err != nil {
			if ctx.Err() == nil {
				w.errs++
				var se *kube.StatusError
				if errors.As(err, &se) && se.Code == 410 {
					return // the server lost the history: the events are lost
				}
				sleep(ctx, 100*time.Millisecond)
			}
			continue
		}
		readyOnce()
		stop := context.AfterFunc(ctx, st.Close)
		w.read(st, events)
		stop()
		st.Close()
	}
}

func (w *watcher) read(st *kube.Watch, events *measure.Counter) {
	for {
		ev, err := st.Next()
		if err != nil {
			return
		}
		switch ev.Type {
		case "BOOKMARK":
			continue
		case "ERROR":
			w.errs++
			return
		}
		now := time.Now().UnixNano()
		if ev.RV <= w.lastRV.Load() {
			w.disorder++
			continue
		}
		w.sum += ev.RV
		w.lastRV.Store(ev.RV)
		w.count.Add(1)
		events.Add(1)
		if w.sample {
			w.recv = append(w.recv, [2]int64{ev.RV, now})
		}
	}
}

// expectation is what a watcher must receive.
type expectation struct {
	count, sum, last int64
}

// expectations is what an unfiltered watcher (all) and a watcher of each
// node (byNode) must receive.
type expectations struct {
	all    expectation
	byNode map[string]expectation
}

// of is what w must receive.
func (e expectations) of(w *watcher) expectation {
	if w.node != "" {
		return e.byNode[w.node]
	}
	return e.all
}

// add counts one event at rev, the latest so far.
func (x *expectation) add(rev int64) {
	x.count++
	x.sum += rev
	x.last = rev
}

// expect computes, from the commit log, what the watchers must receive
// after rv.
func expect(log []commit, rv int64) expectations {
	e := expectations{byNode: map[string]expectation{}}
	for _, c := range log {
		if !c.main || c.rev <= rv {
			continue
		}
		e.all.add(c.rev)
		addNode := func(n string) {
			x := e.byNode[n]
			x.add(c.rev)
			e.byNode[n] = x
		}
		if c.node != "" {
			addNode(c.node)
		}
		if c.prev != "" && c.prev != c.node {
			addNode(c.prev)
		}
	}
	return e
}
