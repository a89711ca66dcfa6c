package replicas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// eventsPerReplica is how many events the watcher takes from one replica
// before it resumes on the next.
const eventsPerReplica = 3

// watcher follows the configmaps as client-go's reflector does when its
// connection lands on another replica: each watch starts from the RV of
// the last event it got, and every event must come after it. It moves to
// the next replica after eventsPerReplica events.
type watcher struct {
	run     *clientRun
	last    uint64       // owned by loop: the RV of the last event
	resumed atomic.Int64 // watches that delivered eventsPerReplica events
	events  atomic.Int64
}

// loop watches until ctx ends or a stream breaks the rules (returned).
func (w *watcher) loop(ctx context.Context, start uint64) error {
	w.last = start
	for i := 0; ctx.Err() == nil; i++ {
		k := i % len(w.run.reps)
		if err := w.watchOnce(ctx, k); err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// watchOnce watches replica k from w.last for eventsPerReplica events.
func (w *watcher) watchOnce(ctx context.Context, k int) error {
	r := w.run
	down := r.down.Load()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	url := fmt.Sprintf("%s%s?watch=true&resourceVersion=%d", r.reps[k].base, collection, w.last)
	req, err := http.NewRequestWithContext(wctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	mayFail := func() bool { return k == 1 && (down || r.down.Load()) }
	resp, err := (&http.Client{Transport: r.hc.Transport}).Do(req) // no client timeout: a stream
	if err != nil {
		if mayFail() || ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("watch from %d on replica-%d: %v", w.last, k, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusTooManyRequests && mayFail() {
			return nil
		}
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("watch from %d on replica-%d: %d %s", w.last, k, resp.StatusCode, b)
	}
	dec := json.NewDecoder(resp.Body)
	for n := 0; n < eventsPerReplica; n++ {
		var ev struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		if err := dec.Decode(&ev); err != nil {
			if mayFail() || ctx.Err() != nil || (errors.Is(err, context.DeadlineExceeded) && wctx.Err() != nil) {
				return nil
			}
			return fmt.Errorf("watch from %d on replica-%d: %v", w.last, k, err)
		}
		rv, err := resourceVersion(ev.Object)
		if ev.Type == "ERROR" || err != nil {
			return fmt.Errorf("watch on replica-%d: %s event %s (%v)", k, ev.Type, ev.Object, err)
		}
		if rv <= w.last {
			return fmt.Errorf("watch from %d on replica-%d: %s event at RV %d, not after %s",
				w.last, k, ev.Type, rv, strconv.FormatUint(w.last, 10))
		}
		w.last = rv
		w.events.Add(1)
	}
	w.resumed.Add(1)
	return nil
}
