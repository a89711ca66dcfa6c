package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// ev is an event as a test expects it: type, namespace/name, RV.
type ev struct {
	Type api.EventType
	Name string
	RV   uint64
}

func (e ev) String() string { return fmt.Sprintf("%s %s@%d", e.Type, e.Name, e.RV) }

func (e *env) watch(opts api.WatchOptions) api.Watcher {
	e.t.Helper()
	w, err := e.s.Watch(e.ctx, opts)
	if err != nil {
		e.t.Fatalf("watch %+v: %v", opts, err)
	}
	e.t.Cleanup(w.Close)
	return w
}

// next reads one event within a deadline; for ADDED/MODIFIED/DELETED it
// also checks that the object's RV and Raw agree with the event's RV.
func next(t *testing.T, w api.Watcher) (api.WatchEvent, ev) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	we, err := w.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	got := ev{Type: we.Type, RV: we.RV}
	if we.Object != nil {
		got.Name = we.Object.Namespace + "/" + we.Object.Name
		if we.Object.RV != we.RV || !strings.Contains(string(we.Object.Raw), `"resourceVersion":"`+api.FormatRV(we.RV)+`"`) {
			t.Fatalf("event %v carries object at %d: %s", got, we.Object.RV, we.Object.Raw)
		}
	}
	return we, got
}

func expect(t *testing.T, w api.Watcher, want ...ev) {
	t.Helper()
	for i, x := range want {
		if _, got := next(t, w); got != x {
			t.Fatalf("event %d: got %v, want %v", i, got, x)
		}
	}
}

// B31, B41: every event after RV n, in order, exact types and RVs.
func TestWatch_B31_FromRV(t *testing.T) {
	e := newEnv(t, nil)
	start := e.rev()
	a := e.create("ns", "a", "n1", nil)
	a2, err := e.s.Patch(e.ctx, "ns", "a", api.NewMergePatch([]byte(`{"spec":{"nodeName":"n2"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	b := e.create("ns", "b", "n1", nil)
	e.create("other", "c", "n1", nil)
	del, err := e.s.Delete(e.ctx, "ns", "a", api.Preconditions{})
	if err != nil {
		t.Fatal(err)
	}
	w := e.watch(api.WatchOptions{Namespace: "ns", ResourceVersion: api.FormatRV(start)})
	expect(t, w,
		ev{api.Added, "ns/a", a.RV},
		ev{api.Modified, "ns/a", a2.RV},
		ev{api.Added, "ns/b", b.RV},
		ev{api.Deleted, "ns/a", del.RV})
	// From the middle, and live.
	w2 := e.watch(api.WatchOptions{ResourceVersion: api.FormatRV(b.RV)})
	expect(t, w2, ev{api.Added, "other/c", b.RV + 1}, ev{api.Deleted, "ns/a", del.RV})
	d := e.create("ns", "d", "", nil)
	expect(t, w2, ev{api.Added, "ns/d", d.RV})
	expect(t, w, ev{api.Added, "ns/d", d.RV})
}

// B40: selector transforms.
func TestWatch_B40_SelectorTransforms(t *testing.T) {
	e := newEnv(t, nil)
	pred, err := api.ParsePredicate("", "spec.nodeName=n1", []string{"spec.nodeName"})
	if err != nil {
		t.Fatal(err)
	}
	w := e.watch(api.WatchOptions{ResourceVersion: api.FormatRV(e.rev()), Predicate: pred})
	patch := func(name, p string) *api.Object {
		t.Helper()
		o, err := e.s.Patch(e.ctx, "ns", name, api.NewMergePatch([]byte(p)))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	x := e.create("ns", "x", "n1", nil)
	e.create("ns", "y", "n2", nil) // never matches: nothing
	moved := patch("x", `{"spec":{"nodeName":"n2"}}`)
	patch("y", `{"spec":{"nodeName":"n3"}}`) // nothing
	back := patch("x", `{"spec":{"nodeName":"n1"}}`)
	stay := patch("x", `{"metadata":{"labels":{"k":"v"}}}`)
	del, err := e.s.Delete(e.ctx, "ns", "x", api.Preconditions{})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, w, ev{api.Added, "ns/x", x.RV})
	we, got := next(t, w)
	// Stopped matching: DELETED with the previous state at the event's RV.
	if want := (ev{api.Deleted, "ns/x", moved.RV}); got != want || we.Object.Fields["spec.nodeName"] != "n1" ||
		string(we.Object.Raw) != string(x.WithRV(moved.RV).Raw) {
		t.Fatalf("got %v %s, want %v with the n1 state", got, we.Object.Raw, want)
	}
	expect(t, w, ev{api.Added, "ns/x", back.RV}, ev{api.Modified, "ns/x", stay.RV})
	we, got = next(t, w)
	if want := (ev{api.Deleted, "ns/x", del.RV}); got != want || string(we.Object.Raw) != string(del.Raw) {
		t.Fatalf("got %v %s, want %v %s", got, we.Object.Raw, want, del.Raw)
	}
}

// B30, B33: initial events, then the end bookmark, then live events.
func TestWatch_B33_InitialEventsAndBookmark(t *testing.T) {
	e := newEnv(t, nil)
	b := e.create("ns", "b", "n1", nil)
	a := e.create("ns", "a", "n1", nil)
	e.create("ns", "c", "n2", nil)
	e.create("other", "z", "n1", nil)
	cur := e.rev()
	pred, _ := api.ParsePredicate("", "spec.nodeName=n1", []string{"spec.nodeName"})
	yes := true
	w := e.watch(api.WatchOptions{Namespace: "ns", SendInitialEvents: &yes, ResourceVersionMatch: api.MatchNotOlderThan,
		AllowWatchBookmarks: true, Predicate: pred})
	expect(t, w, ev{api.Added, "ns/a", a.RV}, ev{api.Added, "ns/b", b.RV})
	we, got := next(t, w)
	if got != (ev{Type: api.Bookmark, RV: cur}) || !we.InitialEventsEnd || we.Object != nil {
		t.Fatalf("end bookmark: %+v", we)
	}
	d := e.create("ns", "d", "n1", nil)
	expect(t, w, ev{api.Added, "ns/d", d.RV})

	// Legacy RV="" (SIE unset): initial events, no bookmark.
	w2 := e.watch(api.WatchOptions{Namespace: "other"})
	z2 := e.create("other", "zz", "", nil)
	expect(t, w2, ev{api.Added, "other/z", b.RV + 3}, ev{api.Added, "other/zz", z2.RV})

	// An empty collection gives only the bookmark.
	w3 := e.watch(api.WatchOptions{Namespace: "empty", SendInitialEvents: &yes,
		ResourceVersionMatch: api.MatchNotOlderThan, AllowWatchBookmarks: true})
	if _, got := next(t, w3); got != (ev{Type: api.Bookmark, RV: z2.RV}) {
		t.Fatalf("empty: %v", got)
	}
	// Not older than a future RV: too large.
	_, err := e.s.Watch(e.ctx, api.WatchOptions{SendInitialEvents: &yes, ResourceVersionMatch: api.MatchNotOlderThan,
		ResourceVersion: api.FormatRV(z2.RV + 10)})
	wantErr(t, err, api.ErrTooLargeRV)
	// B36: validation first.
	_, err = e.s.Watch(e.ctx, api.WatchOptions{SendInitialEvents: &yes})
	wantErr(t, err, api.ErrInvalid)
}

// B34: SIE=false with RV="" starts at the current revision.
func TestWatch_B34_NoInitialEvents(t *testing.T) {
	e := newEnv(t, nil)
	e.create("ns", "old", "", nil)
	no := false
	w := e.watch(api.WatchOptions{SendInitialEvents: &no, ResourceVersionMatch: api.MatchNotOlderThan})
	n := e.create("ns", "new", "", nil)
	expect(t, w, ev{api.Added, "ns/new", n.RV})
}

// B32: a watch from a compacted revision ends with 410.
func TestWatch_B32_Compacted(t *testing.T) {
	e := newEnv(t, nil)
	start := e.rev()
	e.create("ns", "a", "", nil)
	e.create("ns", "b", "", nil)
	cur := e.rev()
	if err := e.s.Compact(e.ctx, cur); err != nil {
		t.Fatal(err)
	}
	w := e.watch(api.WatchOptions{ResourceVersion: api.FormatRV(start)})
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	_, err := w.Next(ctx)
	ae := wantErr(t, err, api.ErrExpired)
	if want := fmt.Sprintf("too old resource version: %d (%d)", start, cur); ae.Message != want {
		t.Fatalf("message %q, want %q", ae.Message, want)
	}
	if _, err := w.Next(ctx); err != io.EOF {
		t.Fatalf("after the error: %v", err)
	}
}

// B44: Close ends a blocked Next with io.EOF; a done ctx ends it with ctx.Err().
func TestWatch_CloseAndContext(t *testing.T) {
	e := newEnv(t, nil)
	w := e.watch(api.WatchOptions{ResourceVersion: api.FormatRV(e.rev())})
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := w.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a canceled ctx: %v", err)
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
			t.Fatalf("Next after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after Close")
	}
	w.Close()
}

// B42: a progress notification becomes a bookmark when allowed.
func TestWatch_B42_BookmarkFromProgress(t *testing.T) {
	e := newEnv(t, nil)
	e.create("ns", "a", "", nil)
	e.put("/registry/configmaps/ns/x", "{}") // advances the revision, not this resource
	cur := e.rev()
	w := e.watch(api.WatchOptions{ResourceVersion: api.FormatRV(cur - 1), AllowWatchBookmarks: true})
	we := waitProgress(t, e, func(ctx context.Context) (uint64, bool) {
		we, err := w.Next(ctx)
		if err != nil {
			return 0, false
		}
		if we.Type != api.Bookmark || we.Object != nil {
			t.Fatalf("unexpected %+v", we)
		}
		return we.RV, true
	})
	if we != cur {
		t.Fatalf("bookmark at %d, want %d", we, cur)
	}
}

// waitProgress calls RequestProgress until read returns a progress
// revision (etcd answers only once the stream's watches are synced).
func waitProgress(t *testing.T, e *env, read func(ctx context.Context) (uint64, bool)) uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := e.s.RequestProgress(e.ctx); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(e.ctx, 200*time.Millisecond)
		rv, ok := read(ctx)
		cancel()
		if ok {
			return rv
		}
	}
	t.Fatal("no progress notification")
	return 0
}

// The raw stream: events with prev state, progress on an idle stream after
// RequestProgress, and B62 transitions (see the package doc).
func TestWatchEvents_RawAndProgress(t *testing.T) {
	e := newEnv(t, nil)
	start := e.rev() + 1
	a := e.create("ns", "a", "", nil)
	e.put("/registry/pods/ns/bad", "garbage")                                            // undecodable over nothing: no event
	badA := e.put("/registry/pods/ns/a", "garbage")                                      // decoded -> undecodable: DELETED
	fixed := e.put("/registry/pods/ns/a", string(testkit.PodJSON("ns", "a", "n9", nil))) // undecodable -> decoded: ADDED
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	ch := e.s.WatchEvents(ctx, start)
	var got []*api.Event
	for len(got) < 3 {
		select {
		case r := <-ch:
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			got = append(got, r.Events...)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d events", len(got))
		}
	}
	want := []ev{{api.Added, "ns/a", a.RV}, {api.Deleted, "ns/a", badA}, {api.Added, "ns/a", fixed}}
	for i, x := range got {
		if g := (ev{x.Type, x.Object.Namespace + "/" + x.Object.Name, x.RV}); g != want[i] || x.Object.RV != x.RV {
			t.Fatalf("event %d: %v, want %v", i, g, want[i])
		}
	}
	if got[0].Prev != nil || got[1].Prev == nil || got[1].Prev.RV != a.RV || got[2].Prev != nil ||
		got[2].Object.Fields["spec.nodeName"] != "n9" {
		t.Fatalf("prev states wrong: %+v", got)
	}
	rv := waitProgress(t, e, func(ctx context.Context) (uint64, bool) {
		select {
		case r := <-ch:
			if r.Err != nil || len(r.Events) != 0 {
				t.Fatalf("unexpected %+v", r)
			}
			return r.Progress, true
		case <-ctx.Done():
			return 0, false
		}
	})
	if rv != fixed {
		t.Fatalf("progress %d, want %d", rv, fixed)
	}
	cancel()
	for r := range ch {
		if r.Err != nil {
			t.Fatalf("error after cancel: %v", r.Err)
		}
	}
}

// A raw watch from a compacted revision ends with an ErrExpired item.
func TestWatchEvents_Compacted(t *testing.T) {
	e := newEnv(t, nil)
	start := e.rev()
	e.create("ns", "a", "", nil)
	cur := e.rev()
	if err := e.s.Compact(e.ctx, cur); err != nil {
		t.Fatal(err)
	}
	var last api.SourceBatch
	for r := range e.s.WatchEvents(e.ctx, start) {
		last = r
	}
	if ae := wantErr(t, last.Err, api.ErrExpired); ae.Message != fmt.Sprintf("too old resource version: %d (%d)", start-1, cur) {
		t.Fatalf("message %q", ae.Message)
	}
}

// B31: a watch from the largest RV etcd can hand out starts in the future
// (no start revision overflows into a negative one): an object created
// afterwards is not an event of it.
func TestWatch_B31_MaxRVStartsInTheFuture(t *testing.T) {
	e := newEnv(t, nil)
	w, err := e.s.Watch(e.ctx, api.WatchOptions{ResourceVersion: "9223372036854775807"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	e.create("ns", "p", "n1", nil)
	ctx, cancel := context.WithTimeout(e.ctx, 100*time.Millisecond)
	defer cancel()
	if ev, err := w.Next(ctx); err != context.DeadlineExceeded {
		t.Fatalf("got %+v, %v; want no event", ev, err)
	}
}
