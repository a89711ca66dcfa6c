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
				t := time.NewTimer(100 * time.Millisecond)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
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

// expectations computes, from the commit log, what an unfiltered watcher
// and a watcher of each node must receive after rv.
func expectations(log []commit, rv int64) (all expectation, byNode map[string]expectation) {
	byNode = map[string]expectation{}
	for _, c := range log {
		if !c.main || c.rev <= rv {
			continue
		}
		all.count++
		all.sum += c.rev
		all.last = c.rev
		add := func(n string) {
			e := byNode[n]
			e.count++
			e.sum += c.rev
			e.last = c.rev
			byNode[n] = e
		}
		if c.node != "" {
			add(c.node)
		}
		if c.prev != "" && c.prev != c.node {
			add(c.prev)
		}
	}
	return all, byNode
}
