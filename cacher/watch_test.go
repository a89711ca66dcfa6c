package cacher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
	"github.com/watchcached/watchcached/watchcache"
)

func watch(t *testing.T, e *env, opts api.WatchOptions) api.Watcher {
	t.Helper()
	w, err := e.c.Watch(context.Background(), opts)
	if err != nil {
		t.Fatalf("watch %+v: %v", opts, err)
	}
	t.Cleanup(w.Close)
	return w
}

func TestWatch_B30_InitialThenLive(t *testing.T) {
	e := newEnv(t, true, nil)
	b := e.create("default", "b", "n1")
	a := e.create("default", "a", "n1")
	e.waitRV(a.RV)
	for _, rv := range []string{"", "0"} {
		w := watch(t, e, api.WatchOptions{ResourceVersion: rv})
		testkit.Equal(t, "events", testkit.Next(t, w, 2), []string{testkit.Want(api.Added, a), testkit.Want(api.Added, b)})
	}
	w := watch(t, e, api.WatchOptions{ResourceVersion: "0"})
	testkit.Next(t, w, 2)
	c := e.create("default", "c", "n1")
	testkit.Equal(t, "events", testkit.Next(t, w, 1), []string{testkit.Want(api.Added, c)})
}

func TestWatch_B31_FromResourceVersion(t *testing.T) {
	e := newEnv(t, true, nil)
	a := e.create("default", "a", "n1")
	a2 := e.update("default", "a", "n2")
	b := e.create("default", "b", "n1")
	bd := e.del("default", "b")
	e.waitRV(b.RV + 1)
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(a.RV)})
	testkit.Equal(t, "events", testkit.Next(t, w, 3), []string{
		testkit.Want(api.Modified, a2), testkit.Want(api.Added, b),
		fmt.Sprintf("DELETED default/b@%d", b.RV+1),
	})
	if bd.RV != b.RV+1 {
		t.Fatalf("delete returned the last state @%d, want it at the deletion's RV %d", bd.RV, b.RV+1)
	}
	// A future RV: only events after it.
	future := e.c.RV() + 2
	wf := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(future)})
	e.create("default", "skip1", "n1")
	e.create("default", "skip2", "n1")
	c := e.create("default", "c", "n1")
	testkit.Equal(t, "events", testkit.Next(t, wf, 1), []string{testkit.Want(api.Added, c)})
}

func TestWatch_B32_TooOld(t *testing.T) {
	e := newEnv(t, true, func(c *Config) {
		c.WatchCache = watchcache.Config{MinCapacity: 4, MaxCapacity: 4, Window: time.Nanosecond}
	})
	first := e.create("default", "a", "n1")
	var last *api.Object
	for i := range 10 {
		last = e.update("default", "a", fmt.Sprintf("n%d", i))
	}
	e.waitRV(last.RV)
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(first.RV)})
	evs, err := testkit.NextErr(t, w, 20)
	if len(evs) != 0 {
		t.Fatalf("events before the error: %v", evs)
	}
	ae := errIs(t, err, api.ErrExpired, "")
	wantPrefix := fmt.Sprintf("too old resource version: %d (", first.RV)
	if len(ae.Message) < len(wantPrefix) || ae.Message[:len(wantPrefix)] != wantPrefix {
		t.Fatalf("message %q, want prefix %q", ae.Message, wantPrefix)
	}
	if _, err := w.Next(context.Background()); err != io.EOF {
		t.Fatalf("after the error: %v, want EOF", err)
	}
}

func TestWatch_B33_SendInitialEventsWithEndBookmark(t *testing.T) {
	e := newEnv(t, true, nil)
	yes := true
	opts := api.WatchOptions{SendInitialEvents: &yes, ResourceVersionMatch: api.MatchNotOlderThan, AllowWatchBookmarks: true}
	// Empty collection: only the bookmark.
	w := watch(t, e, opts)
	evs := testkit.Next(t, w, 1)
	testkit.Equal(t, "events", evs, []string{fmt.Sprintf("BOOKMARK@%d end=true", e.c.RV())})

	b := e.create("default", "b", "n1")
	a := e.create("default", "a", "n1")
	// Written straight to etcd just now: the consistent start must see both.
	w = watch(t, e, opts)
	evs = testkit.Next(t, w, 3)
	testkit.Equal(t, "events", evs[:2], []string{testkit.Want(api.Added, a), testkit.Want(api.Added, b)})
	var bm uint64
	if _, err := fmt.Sscanf(evs[2], "BOOKMARK@%d end=true", &bm); err != nil || bm < a.RV {
		t.Fatalf("end bookmark %q, want RV >= %d", evs[2], a.RV)
	}
	c := e.create("default", "c", "n1")
	testkit.Equal(t, "events", testkit.Next(t, w, 1), []string{testkit.Want(api.Added, c)})

	// Without bookmarks allowed, no end bookmark.
	opts.AllowWatchBookmarks = false
	w = watch(t, e, opts)
	testkit.Equal(t, "events", testkit.Next(t, w, 3), []string{testkit.Want(api.Added, a), testkit.Want(api.Added, b), testkit.Want(api.Added, c)})
	testkit.ExpectQuiet(t, w, 100*time.Millisecond)
}

func TestWatch_B34_NoInitialEventsFromNow(t *testing.T) {
	e := newEnv(t, true, nil)
	e.create("default", "a", "n1")
	no := false
	w := watch(t, e, api.WatchOptions{SendInitialEvents: &no, ResourceVersionMatch: api.MatchNotOlderThan})
	b := e.create("default", "b", "n1")
	testkit.Equal(t, "events", testkit.Next(t, w, 1), []string{testkit.Want(api.Added, b)})
}

func TestWatch_B35_B36_Refusals(t *testing.T) {
	e := newEnv(t, false, nil)
	_, err := e.c.Watch(context.Background(), api.WatchOptions{})
	errIs(t, err, api.ErrNotReady, "storage is (re)initializing")
	e.start()
	yes := true
	for _, opts := range []api.WatchOptions{
		{SendInitialEvents: &yes},
		{ResourceVersionMatch: api.MatchExact, ResourceVersion: "1"},
		{ResourceVersionMatch: api.MatchNotOlderThan, ResourceVersion: "1"},
	} {
		_, err := e.c.Watch(context.Background(), opts)
		if ae := errIs(t, err, api.ErrInvalid, ""); ae.Field != "resourceVersionMatch" {
			t.Fatalf("%+v: field %q", opts, ae.Field)
		}
	}
}

func TestWatch_B40_SelectorTransforms(t *testing.T) {
	e := newEnv(t, true, nil)
	p, err := api.ParsePredicate("", "spec.nodeName=n1", testkit.Pods().SelectableFields)
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(e.c.RV()), Predicate: p})
	a := e.create("default", "a", "n1")  // ADDED
	a2 := e.update("default", "a", "n1") // MODIFIED
	a3 := e.update("default", "a", "n2") // stops matching: DELETED with the previous state at a3's RV
	e.update("default", "a", "n3")       // matches neither: nothing
	a5 := e.update("default", "a", "n1") // starts matching: ADDED
	e.del("default", "a")                // real delete: DELETED at the delete's RV
	testkit.Equal(t, "events", testkit.Next(t, w, 5), []string{
		testkit.Want(api.Added, a), testkit.Want(api.Modified, a2),
		fmt.Sprintf("DELETED default/a@%d", a3.RV),
		testkit.Want(api.Added, a5),
		fmt.Sprintf("DELETED default/a@%d", a5.RV+1),
	})
}

func TestWatch_B40_DeletedCarriesPreviousStateAtEventRV(t *testing.T) {
	e := newEnv(t, true, nil)
	p, _ := api.ParsePredicate("", "spec.nodeName=n1", testkit.Pods().SelectableFields)
	a := e.create("default", "a", "n1")
	e.waitRV(a.RV)
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(a.RV), Predicate: p})
	moved := e.update("default", "a", "n2")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := w.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != api.Deleted || ev.Object.RV != moved.RV || ev.Object.Fields["spec.nodeName"] != "n1" {
		t.Fatalf("got %s with node %q", testkit.Event(ev), ev.Object.Fields["spec.nodeName"])
	}
	wantRaw := a.WithRV(moved.RV).Raw
	if string(ev.Object.Raw) != string(wantRaw) {
		t.Fatalf("raw %s, want %s", ev.Object.Raw, wantRaw)
	}
}

func TestWatch_B42_BookmarksAdvanceWhileIdle(t *testing.T) {
	e := newEnv(t, true, func(c *Config) {
		c.BookmarkInterval = 50 * time.Millisecond
		c.ProgressInterval = 20 * time.Millisecond
	})
	a := e.create("default", "a", "n1")
	e.waitRV(a.RV)
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(a.RV), AllowWatchBookmarks: true})
	// Another resource's write moves etcd's revision; this resource stays idle.
	put, err := e.etcd.Client.Put(context.Background(), "/registry/configmaps/default/x", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	deadline := time.Now().Add(10 * time.Second)
	for last < uint64(put.Header.Revision) {
		if time.Now().After(deadline) {
			t.Fatalf("bookmarks stuck at %d, etcd at %d", last, put.Header.Revision)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ev, err := w.Next(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != api.Bookmark || ev.Object != nil || ev.RV < last {
			t.Fatalf("got %s after bookmark %d", testkit.Event(ev), last)
		}
		last = ev.RV
	}
}

func TestWatch_B42_NoBookmarksUnlessAllowed(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	e := newEnv(t, true, func(c *Config) { c.BookmarkInterval = 10 * time.Millisecond; c.Clock = clk })
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(e.c.RV())})
	clk.Step(time.Hour) // a hundred thousand intervals
	testkit.ExpectQuiet(t, w, 50*time.Millisecond)
}

// With periodic bookmarks far off, the only bookmark comes 2 s before the
// stream's deadline, on the cache's clock (a fake one here: nothing waits).
func TestWatch_B42_BookmarkBeforeDeadline(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	e := newEnv(t, true, func(c *Config) { c.BookmarkInterval = 24 * time.Hour; c.Clock = clk })
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(e.c.RV()), AllowWatchBookmarks: true})
	deadline := clk.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	got := make(chan api.WatchEvent, 1)
	go func() {
		ev, err := w.Next(ctx)
		if err != nil {
			t.Errorf("Next: %v", err)
		}
		got <- ev
	}()
	waitFor(t, "the watcher to arm its bookmark timer", clk.HasWaiters)
	clk.Step(time.Hour - preDeadlineBookmark - time.Millisecond)
	select {
	case ev := <-got:
		t.Fatalf("%s more than 2 s before the deadline", testkit.Event(ev))
	default:
	}
	clk.Step(time.Millisecond)
	select {
	case ev := <-got:
		if ev.Type != api.Bookmark || ev.RV != e.c.RV() {
			t.Fatalf("got %s, want a bookmark at %d", testkit.Event(ev), e.c.RV())
		}
	case <-time.After(testkit.WaitLimit):
		t.Fatal("no bookmark 2 s before the deadline")
	}
	cancel()
	if _, err := w.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("after the bookmark: %v", err)
	}
}

// waitFor polls cond (an outcome, not a timing) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testkit.WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWatch_B43_SlowWatcherDoesNotBlockOthers(t *testing.T) {
	e := newEnv(t, true, func(c *Config) {
		c.WatchCache = watchcache.Config{MinCapacity: 8, MaxCapacity: 8, Window: time.Nanosecond}
	})
	start := e.c.RV()
	slow := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(start)})
	fast := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(start)})
	// The writer never waits for the slow watcher: each write is applied and
	// reaches the fast watcher while the slow one reads nothing.
	const n = 40
	var fastGot, wantAll []string
	for i := range n {
		o := e.create("default", fmt.Sprintf("p%02d", i), "n1")
		wantAll = append(wantAll, testkit.Want(api.Added, o))
		fastGot = append(fastGot, testkit.Next(t, fast, 1)...)
	}
	testkit.Equal(t, "events", fastGot, wantAll)
	// The slow one never read; the ring (8 events) overwrote what it needs.
	evs, err := testkit.NextErr(t, slow, n)
	errIs(t, err, api.ErrExpired, "")
	testkit.Equal(t, "events", evs, wantAll[:len(evs)]) // whatever it got before the error is a prefix: no gap
}

func TestWatch_B45_ObjectsSharedNotCopied(t *testing.T) {
	e := newEnv(t, true, nil)
	w1 := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(e.c.RV())})
	w2 := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(e.c.RV())})
	e.create("default", "a", "n1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev1, err1 := w1.Next(ctx)
	ev2, err2 := w2.Next(ctx)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if ev1.Object != ev2.Object || &ev1.Object.Raw[0] != &ev2.Object.Raw[0] {
		t.Fatal("two watchers got different copies of one event's object")
	}
	if ev1.Object != lookup(t, e, "default", "a") {
		t.Fatal("watch event object is not the cached object")
	}
}

func TestWatch_CloseEndsNextAndCacherClose(t *testing.T) {
	e := newEnv(t, true, nil)
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(e.c.RV())})
	done := make(chan error, 1)
	go func() {
		_, err := w.Next(context.Background())
		done <- err
	}()
	w.Close()
	if err := <-done; err != io.EOF {
		t.Fatalf("Next after Close: %v", err)
	}
	w2 := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(e.c.RV())})
	go func() {
		_, err := w2.Next(context.Background())
		done <- err
	}()
	e.c.Close()
	if err := <-done; err != io.EOF {
		t.Fatalf("Next after Cacher.Close: %v", err)
	}
}

// TestWatch_NotifyIdle: the idle hook runs only when Next is about to block,
// never between events that are already available (so an HTTP stream is
// flushed once per burst).
func TestWatch_NotifyIdle(t *testing.T) {
	e := newEnv(t, true, nil)
	var last *api.Object
	for _, n := range []string{"a", "b", "c"} {
		last = e.create("default", n, "n1")
	}
	e.waitRV(last.RV)
	w := watch(t, e, api.WatchOptions{ResourceVersion: "0"})
	idle := 0
	w.(api.IdleNotifier).NotifyIdle(func() { idle++ })
	testkit.Next(t, w, 3)
	if idle != 0 {
		t.Fatalf("idle hook ran %d times during a burst", idle)
	}
	testkit.ExpectQuiet(t, w, 50*time.Millisecond)
	if idle != 1 {
		t.Fatalf("idle hook ran %d times before blocking, want 1", idle)
	}
	d := e.create("default", "d", "n1")
	testkit.Equal(t, "events", testkit.Next(t, w, 1), []string{testkit.Want(api.Added, d)})
}

// TestWatch_B41_BacklogCostsNoWakeChannels: a watcher working through events
// already in the ring hands them out in order without registering a wake
// channel per event; it arms one only once it has caught up.
func TestWatch_B41_BacklogCostsNoWakeChannels(t *testing.T) {
	e := newEnv(t, true, nil)
	p, err := api.ParsePredicate("", "spec.nodeName=n1", testkit.Pods().SelectableFields)
	if err != nil {
		t.Fatal(err)
	}
	from := e.c.RV()
	var wants []string
	var last *api.Object
	for _, name := range []string{"a", "b", "c", "d"} {
		last = e.create("default", name, "n1")
		wants = append(wants, testkit.Want(api.Added, last))
	}
	e.waitRV(last.RV)
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(from), Predicate: p})
	testkit.Equal(t, "events", testkit.Next(t, w, 3), wants[:3])
	if _, armed := e.c.wake.size(); armed != 0 {
		t.Fatalf("%d wake channels registered while the watcher still had a backlog", armed)
	}
	testkit.Equal(t, "events", testkit.Next(t, w, 1), wants[3:])
	e2 := e.create("default", "e", "n1") // wakes the now idle watcher
	testkit.Equal(t, "events", testkit.Next(t, w, 1), []string{testkit.Want(api.Added, e2)})
}
