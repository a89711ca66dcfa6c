package conformance

import (
	"context"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

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
	return testkit.Pod{Namespace: ns, Name: name, Node: node, Labels: labels, Gen: gen}.JSON()
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

// wantPrefix fails unless s starts with prefix.
func wantPrefix(t *testing.T, s, prefix string) {
	t.Helper()
	if !strings.HasPrefix(s, prefix) {
		t.Fatalf("message %q, want prefix %q", s, prefix)
	}
}

func rvs(rv uint64) string { return api.FormatRV(rv) }

func ptr[T any](v T) *T { return &v }
