package testkit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

// WaitLimit bounds every wait of a reader: a stream that should deliver
// but does not fails the test after it.
const WaitLimit = 10 * time.Second

// Obj renders an object as "ns/name@RV".
func Obj(o *api.Object) string { return fmt.Sprintf("%s/%s@%d", o.Namespace, o.Name, o.RV) }

// Objs renders a list's items in order.
func Objs(items []*api.Object) []string {
	out := []string{}
	for _, o := range items {
		out = append(out, Obj(o))
	}
	return out
}

// Event renders a watch event as "TYPE ns/name@RV" ("BOOKMARK@RV end=b"
// for a bookmark); an event whose object does not carry the event's RV is
// rendered as such, so that no comparison passes over it.
func Event(ev api.WatchEvent) string {
	if ev.Type == api.Bookmark {
		return fmt.Sprintf("BOOKMARK@%d end=%v", ev.RV, ev.InitialEventsEnd)
	}
	if ev.Object == nil || ev.Object.RV != ev.RV {
		return fmt.Sprintf("%s <object does not show the event RV %d>", ev.Type, ev.RV)
	}
	return fmt.Sprintf("%s %s", ev.Type, Obj(ev.Object))
}

// Want renders the event a watcher should get for o.
func Want(typ api.EventType, o *api.Object) string { return fmt.Sprintf("%s %s", typ, Obj(o)) }

// WantAt renders the event for o's state re-stamped at rv (a DELETED).
func WantAt(typ api.EventType, o *api.Object, rv uint64) string {
	return fmt.Sprintf("%s %s/%s@%d", typ, o.Namespace, o.Name, rv)
}

// Next reads n events (skipping nothing), failing on any error.
func Next(t testing.TB, w api.Watcher, n int) []string {
	t.Helper()
	var out []string
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
		ev, err := w.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("after %q: Next: %v", out, err)
		}
		out = append(out, Event(ev))
	}
	return out
}

// NextErr reads until an error (at most max events) and returns the events
// before it and the error.
func NextErr(t testing.TB, w api.Watcher, max int) ([]string, error) {
	t.Helper()
	var out []string
	for range max {
		ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
		ev, err := w.Next(ctx)
		cancel()
		if err != nil {
			return out, err
		}
		out = append(out, Event(ev))
	}
	t.Fatalf("no error after %d events: %q", max, out)
	return nil, nil
}

// ExpectQuiet fails if an event (or an error other than the deadline)
// arrives within d.
func ExpectQuiet(t testing.TB, w api.Watcher, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	ev, err := w.Next(ctx)
	if err == nil {
		t.Fatalf("unexpected event %s", Event(ev))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unexpected error %v", err)
	}
}

// Equal fails unless got and want are the same sequence.
func Equal(t testing.TB, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// WantErr fails unless err wraps sentinel and is an *api.Error with the
// given field and message ("" skips that check); it returns the *api.Error.
func WantErr(t testing.TB, err, sentinel error, field, msg string) *api.Error {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want %v", err, sentinel)
	}
	ae := api.AsError(err)
	if ae == nil {
		t.Fatalf("error %v is not an *api.Error", err)
	}
	if field != "" && ae.Field != field {
		t.Fatalf("error %q: field %q, want %q", ae.Message, ae.Field, field)
	}
	if msg != "" && ae.Message != msg {
		t.Fatalf("message %q, want %q", ae.Message, msg)
	}
	return ae
}
