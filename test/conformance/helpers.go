package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
)

// waitLimit bounds every wait of the suite (for an event, a revision).
const waitLimit = 10 * time.Second

// env is one scenario's fixture plus the helpers scenarios share. It is
// used by the scenario's goroutine only.
type env struct {
	t *testing.T
	Fixture
	res *api.Resource
	ctx context.Context
	gen int // bumped by every update, so that an update always changes the object
}

func newEnv(t *testing.T, f Factory) *env {
	t.Helper()
	res := Pods()
	return &env{t: t, Fixture: f(t, res), res: res, ctx: context.Background()}
}

// pod is the JSON of a pod; gen > 0 adds an annotation so that updates
// always write.
func pod(ns, name, node string, labels map[string]string, gen int) []byte {
	md := map[string]any{"name": name, "namespace": ns}
	if labels != nil {
		md["labels"] = labels
	}
	if gen > 0 {
		md["annotations"] = map[string]string{"gen": fmt.Sprint(gen)}
	}
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Pod", "metadata": md,
		"spec": map[string]any{"nodeName": node},
	})
	return b
}

func (e *env) create(ns, name, node string, labels map[string]string) *api.Object {
	e.t.Helper()
	o, err := e.Storage.Create(e.ctx, ns, pod(ns, name, node, labels, 0))
	if err != nil {
		e.t.Fatalf("create %s/%s: %v", ns, name, err)
	}
	return o
}

// update replaces ns/name unconditionally with a changed body.
func (e *env) update(ns, name, node string, labels map[string]string) *api.Object {
	e.t.Helper()
	e.gen++
	o, err := e.Storage.Update(e.ctx, ns, name, pod(ns, name, node, labels, e.gen))
	if err != nil {
		e.t.Fatalf("update %s/%s: %v", ns, name, err)
	}
	return o
}

func (e *env) del(ns, name string) *api.Object {
	e.t.Helper()
	o, err := e.Storage.Delete(e.ctx, ns, name, api.Preconditions{})
	if err != nil {
		e.t.Fatalf("delete %s/%s: %v", ns, name, err)
	}
	return o
}

// churn writes n updates of ns/name (enough to overrun a ring) and returns
// the last state.
func (e *env) churn(ns, name string, n int) *api.Object {
	e.t.Helper()
	var last *api.Object
	for range n {
		last = e.update(ns, name, "churn", nil)
	}
	return last
}

// forget makes every revision before now unservable: History+8 writes,
// then compaction of etcd at the current revision. It returns that
// revision, which the storage has seen.
func (e *env) forget() uint64 {
	e.t.Helper()
	e.create("zz-forget", "churn", "churn", nil)
	e.churn("zz-forget", "churn", e.History+8)
	rev := e.rev()
	e.Sync(e.t, rev)
	e.Compact(e.t, rev)
	return rev
}

// rev is etcd's current revision.
func (e *env) rev() uint64 {
	e.t.Helper()
	resp, err := e.Etcd.Get(e.ctx, "/", clientv3.WithCountOnly())
	if err != nil {
		e.t.Fatal(err)
	}
	return uint64(resp.Header.Revision)
}

// sync waits until the storage has seen everything etcd has now.
func (e *env) sync() uint64 {
	e.t.Helper()
	rev := e.rev()
	e.Sync(e.t, rev)
	return rev
}

func (e *env) list(opts api.ListOptions) *api.List {
	e.t.Helper()
	l, err := e.Storage.List(e.ctx, opts)
	if err != nil {
		e.t.Fatalf("list %+v: %v", opts, err)
	}
	return l
}

func (e *env) pred(label, field string) api.Predicate {
	e.t.Helper()
	p, err := api.ParsePredicate(label, field, e.res.SelectableFields)
	if err != nil {
		e.t.Fatalf("selector %q %q: %v", label, field, err)
	}
	return p
}

// watch starts a watch that must start; it is closed at the end of the test.
func (e *env) watch(opts api.WatchOptions) api.Watcher {
	e.t.Helper()
	w, err := e.Storage.Watch(e.ctx, opts)
	if err != nil {
		e.t.Fatalf("watch %+v: %v", opts, err)
	}
	e.t.Cleanup(w.Close)
	return w
}

// ---- compact renderings for exact comparisons ----

// obj renders an object as "ns/name@rv".
func obj(o *api.Object) string { return fmt.Sprintf("%s/%s@%d", o.Namespace, o.Name, o.RV) }

// objs renders a list's items.
func objs(items []*api.Object) []string {
	out := []string{}
	for _, o := range items {
		out = append(out, obj(o))
	}
	return out
}

// ev renders a watch event: "ADDED ns/name@rv" or "BOOKMARK@rv end=true".
func ev(w api.WatchEvent) string {
	if w.Type == api.Bookmark {
		return fmt.Sprintf("BOOKMARK@%d end=%v", w.RV, w.InitialEventsEnd)
	}
	if w.Object == nil || w.Object.RV != w.RV {
		return fmt.Sprintf("%s <object does not show the event RV %d>", w.Type, w.RV)
	}
	return fmt.Sprintf("%s %s", w.Type, obj(w.Object))
}

// want renders the event a watcher should get for o.
func want(typ api.EventType, o *api.Object) string { return fmt.Sprintf("%s %s", typ, obj(o)) }

// wantAt renders the event for o's state re-stamped at rv (a DELETED).
func wantAt(typ api.EventType, o *api.Object, rv uint64) string {
	return fmt.Sprintf("%s %s/%s@%d", typ, o.Namespace, o.Name, rv)
}

// next reads n events, failing on any error.
func next(t *testing.T, w api.Watcher, n int) []string {
	t.Helper()
	var out []string
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		got, err := w.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("after %q: Next: %v", out, err)
		}
		out = append(out, ev(got))
	}
	return out
}

// nextErr reads until an error (at most max events) and returns the
// events before it.
func nextErr(t *testing.T, w api.Watcher, max int) ([]string, error) {
	t.Helper()
	var out []string
	for range max {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		got, err := w.Next(ctx)
		cancel()
		if err != nil {
			return out, err
		}
		out = append(out, ev(got))
	}
	t.Fatalf("no error after %d events: %q", max, out)
	return nil, nil
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// wantErr fails unless err wraps sentinel and is an *api.Error with the
// given field and message ("" skips a check); it returns the *api.Error.
func wantErr(t *testing.T, err, sentinel error, field, msg string) *api.Error {
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

// wantPrefix fails unless s starts with prefix.
func wantPrefix(t *testing.T, s, prefix string) {
	t.Helper()
	if !strings.HasPrefix(s, prefix) {
		t.Fatalf("message %q, want prefix %q", s, prefix)
	}
}

func rvs(rv uint64) string { return api.FormatRV(rv) }

func ptr[T any](v T) *T { return &v }
