package cacher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
	"github.com/watchcached/watchcached/watchcache"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func podsResource() *api.Resource {
	return &api.Resource{
		Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true,
		SelectableFields: []string{"spec.nodeName"}, IndexedFields: []string{"spec.nodeName"},
	}
}

// env is one test's etcd, direct store and cacher.
type env struct {
	t     testing.TB
	etcd  *etcdtest.Server
	store *etcdstore.Store
	c     *Cacher
	gen   int
}

// newEnv starts etcd, a store for pods and a cacher with short timeouts.
// mut may adjust the cacher's config; start=false leaves it not started.
func newEnv(t testing.TB, start bool, mut func(*Config)) *env {
	t.Helper()
	e := &env{t: t, etcd: etcdtest.Start(t)}
	st, err := etcdstore.New(etcdstore.Config{Client: e.etcd.Client, Resource: podsResource()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e.store = st
	cfg := Config{
		Source:           st,
		FreshnessTimeout: 2 * time.Second,
		ProgressInterval: 100 * time.Millisecond,
		WatchCache:       watchcache.Config{},
	}
	if mut != nil {
		mut(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e.c = c
	if start {
		e.start()
	}
	return e
}

func (e *env) start() {
	e.t.Helper()
	e.c.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.c.WaitReady(ctx); err != nil {
		e.t.Fatalf("cache not ready: %v", err)
	}
}

func podJSON(ns, name, node string, lbl map[string]string) []byte {
	obj := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": lbl},
		"spec":     map[string]any{"nodeName": node},
	}
	b, _ := json.Marshal(obj)
	return b
}

func (e *env) create(ns, name, node string) *api.Object {
	e.t.Helper()
	o, err := e.store.Create(context.Background(), ns, podJSON(ns, name, node, nil))
	if err != nil {
		e.t.Fatalf("create %s/%s: %v", ns, name, err)
	}
	return o
}

// update writes a changed object (a fresh "gen" label each time, since an
// update that changes nothing is not written).
func (e *env) update(ns, name, node string) *api.Object {
	e.t.Helper()
	e.gen++
	o, err := e.store.Update(context.Background(), ns, name, podJSON(ns, name, node, map[string]string{"gen": fmt.Sprint(e.gen)}))
	if err != nil {
		e.t.Fatalf("update %s/%s: %v", ns, name, err)
	}
	return o
}

func (e *env) del(ns, name string) *api.Object {
	e.t.Helper()
	o, err := e.store.Delete(context.Background(), ns, name, api.Preconditions{})
	if err != nil {
		e.t.Fatalf("delete %s/%s: %v", ns, name, err)
	}
	return o
}

// waitRV waits until the cache applied rv.
func (e *env) waitRV(rv uint64) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.c.waitRV(ctx, rv); err != nil {
		e.t.Fatalf("cache did not reach %d: %v", rv, err)
	}
}

// got is a compact rendering of a watch event for exact comparisons.
func got(ev api.WatchEvent) string {
	if ev.Type == api.Bookmark {
		return fmt.Sprintf("BOOKMARK@%d end=%v", ev.RV, ev.InitialEventsEnd)
	}
	return fmt.Sprintf("%s %s/%s@%d", ev.Type, ev.Object.Namespace, ev.Object.Name, ev.RV)
}

func want(typ api.EventType, o *api.Object) string {
	return fmt.Sprintf("%s %s/%s@%d", typ, o.Namespace, o.Name, o.RV)
}

// next reads n events (skipping nothing) with a deadline.
func next(t *testing.T, w api.Watcher, n int) []string {
	t.Helper()
	var out []string
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ev, err := w.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("after %v: Next: %v", out, err)
		}
		out = append(out, got(ev))
	}
	return out
}

// nextErr reads until an error, returning the events before it.
func nextErr(t *testing.T, w api.Watcher, max int) ([]string, error) {
	t.Helper()
	var out []string
	for range max {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ev, err := w.Next(ctx)
		cancel()
		if err != nil {
			return out, err
		}
		out = append(out, got(ev))
	}
	t.Fatalf("no error after %d events: %v", max, out)
	return nil, nil
}

// expectQuiet asserts no event arrives within d.
func expectQuiet(t *testing.T, w api.Watcher, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	ev, err := w.Next(ctx)
	if err == nil {
		t.Fatalf("unexpected event %s", got(ev))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unexpected error %v", err)
	}
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events:\n got  %q\n want %q", got, want)
	}
}

func errIs(t *testing.T, err, sentinel error, msg string) *api.Error {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want %v", err, sentinel)
	}
	ae := api.AsError(err)
	if ae == nil {
		t.Fatalf("error %v is not an *api.Error", err)
	}
	if msg != "" && ae.Message != msg {
		t.Fatalf("message %q, want %q", ae.Message, msg)
	}
	return ae
}

var _ = io.EOF

// The direct etcd store is a Source.
var _ Source = (*etcdstore.Store)(nil)
