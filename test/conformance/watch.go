package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

func runWatch(t *testing.T, f Factory) {
	runAll(t, f, []scenario{
		{"B30_InitialThenLive", watchInitial},
		{"B31_FromResourceVersion", watchFromRV},
		{"B32_TooOld", watchTooOld},
		{"B33_InitialEventsEndBookmark", watchSIE},
		{"B33_TooLarge", watchSIETooLarge},
		{"B34_NoInitialEvents", watchNoInitial},
		{"B36_InvalidOptions", watchInvalid},
		{"B40_SelectorTransforms", watchTransforms},
		{"B40_B26_Namespace", watchNamespace},
		{"B41_OrderedNoDuplicates", watchOrdered},
		{"B44_DeadlineAndClose", watchDeadlineClose},
		{"B44_NextAfterCloseWithPending", watchCloseWithPending},
	})
}

// B30: RV "" or "0" without SIE: ADDED for every object in key order, then
// live events.
func watchInitial(e *env) {
	b := e.create("default", "b", "n1", nil)
	a := e.create("default", "a", "n1", nil)
	e.Sync(e.t, a.RV)
	var ws []api.Watcher
	for _, rv := range []string{"", "0"} {
		w := e.watch(api.WatchOptions{ResourceVersion: rv})
		testkit.Equal(e.t, "initial RV "+rv, testkit.Next(e.t, w, 2), []string{testkit.Want(api.Added, a), testkit.Want(api.Added, b)})
		ws = append(ws, w)
	}
	c := e.create("default", "c", "n1", nil)
	b2 := e.update("default", "b", "n2", nil)
	for _, w := range ws {
		testkit.Equal(e.t, "live", testkit.Next(e.t, w, 2), []string{testkit.Want(api.Added, c), testkit.Want(api.Modified, b2)})
	}
}

// B31: RV n: every event after n, in order, then live; n may be in the
// future.
func watchFromRV(e *env) {
	a := e.create("default", "a", "n1", nil)
	a2 := e.update("default", "a", "n2", nil)
	b := e.create("default", "b", "n1", nil)
	bd := e.del("default", "b")
	if bd.RV != b.RV+1 || bd.Name != "b" {
		e.t.Fatalf("delete returned %s, want default/b at the deletion's RV %d", testkit.Obj(bd), b.RV+1)
	}
	e.Sync(e.t, bd.RV)
	w := e.watch(api.WatchOptions{ResourceVersion: rvs(a.RV)})
	testkit.Equal(e.t, "from a", testkit.Next(e.t, w, 3), []string{testkit.Want(api.Modified, a2), testkit.Want(api.Added, b), testkit.Want(api.Deleted, bd)})
	w0 := e.watch(api.WatchOptions{ResourceVersion: rvs(a.RV - 1)})
	testkit.Equal(e.t, "from before a", testkit.Next(e.t, w0, 4), []string{testkit.Want(api.Added, a), testkit.Want(api.Modified, a2), testkit.Want(api.Added, b), testkit.Want(api.Deleted, bd)})

	future := e.rev() + 2
	wf := e.watch(api.WatchOptions{ResourceVersion: rvs(future)})
	e.create("default", "skip1", "n1", nil)
	e.create("default", "skip2", "n1", nil)
	c := e.create("default", "c", "n1", nil)
	a3 := e.update("default", "a", "n3", nil)
	testkit.Equal(e.t, "from the future", testkit.Next(e.t, wf, 2), []string{testkit.Want(api.Added, c), testkit.Want(api.Modified, a3)})
	testkit.Equal(e.t, "live", testkit.Next(e.t, w, 4), []string{
		fmt.Sprintf("ADDED default/skip1@%d", future-1), fmt.Sprintf("ADDED default/skip2@%d", future),
		testkit.Want(api.Added, c), testkit.Want(api.Modified, a3),
	})
}

// B32: a watch from an RV older than the history holds gets one 410 ERROR,
// then the stream ends.
func watchTooOld(e *env) {
	a := e.create("default", "a", "n1", nil)
	e.forget()
	w := e.watch(api.WatchOptions{ResourceVersion: rvs(a.RV)})
	evs, err := testkit.NextErr(e.t, w, 1000)
	if len(evs) != 0 {
		e.t.Fatalf("events before the error: %q", evs)
	}
	ae := testkit.WantErr(e.t, err, api.ErrExpired, "", "")
	wantPrefix(e.t, ae.Message, fmt.Sprintf("too old resource version: %d (", a.RV))
	if _, err := w.Next(e.ctx); err != io.EOF {
		e.t.Fatalf("after the error: %v, want io.EOF", err)
	}
}

// B33: SIE=true: ADDED for every object in key order, then (with
// bookmarks allowed) one initial-events-end bookmark at an RV no older
// than any listed object, then live events. Empty: only the bookmark.
func watchSIE(e *env) {
	sie := api.WatchOptions{SendInitialEvents: ptr(true), ResourceVersionMatch: api.MatchNotOlderThan, AllowWatchBookmarks: true}
	w := e.watch(sie)
	testkit.Equal(e.t, "empty", testkit.Next(e.t, w, 1), []string{fmt.Sprintf("BOOKMARK@%d end=true", e.rev())})

	b := e.create("default", "b", "n1", nil)
	a := e.create("default", "a", "n1", nil)
	// RV "": no Sync, the watch itself must be fresh.
	w = e.watch(sie)
	testkit.Equal(e.t, "SIE RV=\"\"", testkit.Next(e.t, w, 3), []string{testkit.Want(api.Added, a), testkit.Want(api.Added, b), fmt.Sprintf("BOOKMARK@%d end=true", a.RV)})
	c := e.create("default", "c", "n1", nil)
	testkit.Equal(e.t, "live after the bookmark", testkit.Next(e.t, w, 1), []string{testkit.Want(api.Added, c)})

	// RV n waits for n; RV "0" after Sync.
	for _, rv := range []string{rvs(c.RV), "0"} {
		e.Sync(e.t, c.RV)
		opts := sie
		opts.ResourceVersion = rv
		w = e.watch(opts)
		evs := testkit.Next(e.t, w, 4)
		testkit.Equal(e.t, "SIE RV="+rv, evs[:3], []string{testkit.Want(api.Added, a), testkit.Want(api.Added, b), testkit.Want(api.Added, c)})
		var bm uint64
		if _, err := fmt.Sscanf(evs[3], "BOOKMARK@%d end=true", &bm); err != nil || bm < c.RV {
			e.t.Fatalf("RV %s: end bookmark %q, want RV >= %d", rv, evs[3], c.RV)
		}
	}

	// Without bookmarks allowed: no end bookmark, straight to live events.
	opts := sie
	opts.AllowWatchBookmarks = false
	w = e.watch(opts)
	testkit.Equal(e.t, "initial", testkit.Next(e.t, w, 3), []string{testkit.Want(api.Added, a), testkit.Want(api.Added, b), testkit.Want(api.Added, c)})
	d := e.create("default", "d", "n1", nil)
	testkit.Equal(e.t, "no bookmark", testkit.Next(e.t, w, 1), []string{testkit.Want(api.Added, d)})
}

// B33: SIE with an RV the storage does not reach in time is a 504 (as the
// watch's error or its first ERROR event).
func watchSIETooLarge(e *env) {
	cur := e.sync()
	opts := api.WatchOptions{SendInitialEvents: ptr(true), ResourceVersionMatch: api.MatchNotOlderThan,
		AllowWatchBookmarks: true, ResourceVersion: rvs(cur + 50)}
	w, err := e.Storage.Watch(e.ctx, opts)
	if err == nil {
		defer w.Close()
		var evs []string
		evs, err = testkit.NextErr(e.t, w, 10)
		if len(evs) != 0 {
			e.t.Fatalf("events before the error: %q", evs)
		}
	}
	ae := testkit.WantErr(e.t, err, api.ErrTooLargeRV, "", fmt.Sprintf("Too large resource version: %d, current: %d", cur+50, cur))
	if ae.Cause != "ResourceVersionTooLarge" {
		e.t.Fatalf("cause %q", ae.Cause)
	}
}

// B34: SIE=false, RV "": no initial events, only what happens next.
func watchNoInitial(e *env) {
	e.create("default", "a", "n1", nil)
	w := e.watch(api.WatchOptions{SendInitialEvents: ptr(false), ResourceVersionMatch: api.MatchNotOlderThan})
	b := e.create("default", "b", "n1", nil)
	testkit.Equal(e.t, "live only", testkit.Next(e.t, w, 1), []string{testkit.Want(api.Added, b)})
}

// B36: bad combinations are 422 naming resourceVersionMatch; a bad RV 400.
func watchInvalid(e *env) {
	for _, o := range []api.WatchOptions{
		{SendInitialEvents: ptr(true)},
		{SendInitialEvents: ptr(false), ResourceVersionMatch: api.MatchExact, ResourceVersion: "1"},
		{ResourceVersionMatch: api.MatchExact, ResourceVersion: "1"},
		{ResourceVersionMatch: api.MatchNotOlderThan, ResourceVersion: "1"},
		{ResourceVersionMatch: "Newest", ResourceVersion: "1"},
	} {
		_, err := e.Storage.Watch(e.ctx, o)
		testkit.WantErr(e.t, err, api.ErrInvalid, "resourceVersionMatch", "")
	}
	_, err := e.Storage.Watch(e.ctx, api.WatchOptions{SendInitialEvents: ptr(true)})
	testkit.WantErr(e.t, err, api.ErrInvalid, "resourceVersionMatch",
		"resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
	_, err = e.Storage.Watch(e.ctx, api.WatchOptions{ResourceVersion: "-5"})
	testkit.WantErr(e.t, err, api.ErrBadRequest, "resourceVersion", "")
}

// B40: ADDED when an object starts matching, MODIFIED while it matches,
// DELETED with its previous state at the event's RV when it stops, DELETED
// at the deletion's RV for a delete, nothing when it matches neither.
func watchTransforms(e *env) {
	start := e.sync()
	byNode := e.watch(api.WatchOptions{ResourceVersion: rvs(start), Predicate: e.pred("", "spec.nodeName=n1")})
	byLabel := e.watch(api.WatchOptions{ResourceVersion: rvs(start), Predicate: e.pred("app!=db", "")})
	a := e.create("default", "a", "n1", nil)                              // n1 ADDED; app!=db ADDED
	a2 := e.update("default", "a", "n1", map[string]string{"app": "db"})  // n1 MODIFIED; app!=db DELETED
	a3 := e.update("default", "a", "n2", map[string]string{"app": "db"})  // n1 DELETED; nothing
	e.update("default", "a", "n3", map[string]string{"app": "db"})        // nothing; nothing
	a5 := e.update("default", "a", "n1", map[string]string{"app": "web"}) // n1 ADDED; app!=db ADDED
	ad := e.del("default", "a")                                           // both DELETED
	e.create("default", "other", "n2", map[string]string{"app": "db"})    // neither
	e.del("default", "other")
	fence := e.create("default", "z", "n1", nil)
	testkit.Equal(e.t, "spec.nodeName=n1", testkit.Next(e.t, byNode, 6), []string{
		testkit.Want(api.Added, a), testkit.Want(api.Modified, a2), testkit.WantAt(api.Deleted, a2, a3.RV),
		testkit.Want(api.Added, a5), testkit.Want(api.Deleted, ad), testkit.Want(api.Added, fence),
	})
	testkit.Equal(e.t, "app!=db", testkit.Next(e.t, byLabel, 5), []string{
		testkit.Want(api.Added, a), testkit.WantAt(api.Deleted, a, a2.RV),
		testkit.Want(api.Added, a5), testkit.Want(api.Deleted, ad), testkit.Want(api.Added, fence),
	})
}

// B40, B26: a namespaced watch sees only its namespace (not ns10 for ns1).
func watchNamespace(e *env) {
	start := e.sync()
	w := e.watch(api.WatchOptions{Namespace: "ns1", ResourceVersion: rvs(start)})
	e.create("ns10", "a", "n1", nil)
	a := e.create("ns1", "a", "n1", nil)
	e.create("ns1-x", "a", "n1", nil)
	e.create("ns", "a", "n1", nil)
	ad := e.del("ns1", "a")
	testkit.Equal(e.t, "ns1", testkit.Next(e.t, w, 2), []string{testkit.Want(api.Added, a), testkit.Want(api.Deleted, ad)})
	wi := e.watch(api.WatchOptions{Namespace: "ns1"})
	b := e.create("ns1", "b", "n1", nil)
	testkit.Equal(e.t, "ns1 from now", testkit.Next(e.t, wi, 1), []string{testkit.Want(api.Added, b)})
}

// B41: RVs strictly increase, nothing is duplicated or skipped: a watcher
// sees exactly the history after its start RV.
func watchOrdered(e *env) {
	start := e.sync()
	w := e.watch(api.WatchOptions{ResourceVersion: rvs(start)})
	var history []string
	var mid uint64
	for i := range 16 { // 18 events: within the cache's ring in the suite
		name := fmt.Sprintf("p%d", i%3)
		switch {
		case i < 3:
			history = append(history, testkit.Want(api.Added, e.create("default", name, "n1", nil)))
		case i%7 == 0:
			history = append(history, testkit.Want(api.Deleted, e.del("default", name)))
			history = append(history, testkit.Want(api.Added, e.create("default", name, "n1", nil)))
		default:
			history = append(history, testkit.Want(api.Modified, e.update("default", name, fmt.Sprintf("n%d", i%4), nil)))
		}
		if i == 8 {
			mid = e.rev()
		}
	}
	got := testkit.Next(e.t, w, len(history))
	testkit.Equal(e.t, "from start", got, history)
	for i := 1; i < len(got); i++ {
		if rvOf(got[i]) <= rvOf(got[i-1]) {
			e.t.Fatalf("RVs do not increase: %q then %q", got[i-1], got[i])
		}
	}
	wm := e.watch(api.WatchOptions{ResourceVersion: rvs(mid)})
	n := 0
	for n < len(history) && rvOf(history[n]) <= mid {
		n++
	}
	testkit.Equal(e.t, "from the middle", testkit.Next(e.t, wm, len(history)-n), history[n:])
}

// rvOf is the RV of a rendered event ("... ns/name@rv").
func rvOf(rendered string) uint64 {
	var rv uint64
	for i := len(rendered) - 1; i >= 0; i-- {
		if rendered[i] == '@' {
			_, _ = fmt.Sscanf(rendered[i+1:], "%d", &rv)
			break
		}
	}
	return rv
}

// B44: a Next whose context ends returns the context's error; Close ends a
// blocked Next with io.EOF, and every later Next too.
func watchDeadlineClose(e *env) {
	w := e.watch(api.WatchOptions{ResourceVersion: rvs(e.sync())})
	ctx, cancel := context.WithTimeout(e.ctx, 100*time.Millisecond)
	_, err := w.Next(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		e.t.Fatalf("Next at the deadline: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := w.Next(context.Background())
		done <- err
	}()
	w.Close()
	select {
	case err := <-done:
		if err != io.EOF {
			e.t.Fatalf("Next ended by Close: %v, want io.EOF", err)
		}
	case <-time.After(testkit.WaitLimit):
		e.t.Fatal("Close did not end a blocked Next")
	}
	if _, err := w.Next(e.ctx); err != io.EOF {
		e.t.Fatalf("Next after Close: %v", err)
	}
}

// B44: Close ends the stream even when events are waiting to be read: the
// next Next is io.EOF, not a buffered event.
func watchCloseWithPending(e *env) {
	start := e.sync()
	w := e.watch(api.WatchOptions{ResourceVersion: rvs(start)})
	a := e.create("default", "a", "n1", nil)
	testkit.Equal(e.t, "first", testkit.Next(e.t, w, 1), []string{testkit.Want(api.Added, a)})
	b := e.create("default", "b", "n1", nil)
	e.update("default", "b", "n2", nil)
	e.Sync(e.t, b.RV+1)
	w.Close()
	if got, err := w.Next(e.ctx); err != io.EOF {
		e.t.Fatalf("Next after Close with events pending: %s, %v; want io.EOF", testkit.Event(got), err)
	}
}
