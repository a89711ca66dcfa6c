package cacher

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// Tests of etcd revisions that change several keys at once: a transaction,
// a prefix delete and a lease expiry. Each is one revision R holding one
// event per key, and a watcher opened before gets every one of them with RV
// R, in etcd's (key) order; lists at and after R show the result.

// podKey is the etcd key of a pod in the test's layout.
func podKey(ns, name string) string { return "/registry/pods/" + ns + "/" + name }

// threePods creates a, b and c in ns and waits for the cache to have them.
func (e *env) threePods(ns string) []*api.Object {
	e.t.Helper()
	var objs []*api.Object
	for _, n := range []string{"a", "b", "c"} {
		objs = append(objs, e.create(ns, n, "n1"))
	}
	e.waitRV(objs[2].RV)
	return objs
}

// deletedAt renders the DELETED events of objs at rv.
func deletedAt(objs []*api.Object, rv uint64) []string {
	var out []string
	for _, o := range objs {
		out = append(out, fmt.Sprintf("DELETED %s/%s@%d", o.Namespace, o.Name, rv))
	}
	return out
}

// checkGone asserts that a consistent list of ns is empty at rv or later and
// that the exact list just before rv still holds objs.
func (e *env) checkGone(t *testing.T, ns string, objs []*api.Object, rv uint64) {
	t.Helper()
	l, err := e.c.List(context.Background(), api.ListOptions{Namespace: ns})
	if err != nil || len(l.Items) != 0 || l.RV < rv {
		t.Fatalf("consistent list after the revision: %v, %+v", err, l)
	}
	before, err := e.c.List(context.Background(), api.ListOptions{Namespace: ns,
		ResourceVersion: api.FormatRV(rv - 1), ResourceVersionMatch: api.MatchExact})
	if err != nil || len(before.Items) != len(objs) {
		t.Fatalf("exact list at %d: %v, %d items, want %d", rv-1, err, len(before.Items), len(objs))
	}
}

func TestRevision_PrefixDeleteReachesEveryWatcher(t *testing.T) {
	e := newEnv(t, true, nil)
	objs := e.threePods("ns1")
	all := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(objs[2].RV)})
	p, err := api.ParsePredicate("", "metadata.name=b", testkit.Pods().SelectableFields)
	if err != nil {
		t.Fatal(err)
	}
	onlyB := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(objs[2].RV), Predicate: p})
	resp, err := e.etcd.Client.Delete(context.Background(), "/registry/pods/ns1/", clientv3.WithPrefix())
	if err != nil || resp.Deleted != 3 {
		t.Fatalf("prefix delete: %v, %+v", err, resp)
	}
	rv := uint64(resp.Header.Revision)
	testkit.Equal(t, "events", testkit.Next(t, all, 3), deletedAt(objs, rv))
	testkit.Equal(t, "events", testkit.Next(t, onlyB, 1), deletedAt(objs[1:2], rv))
	e.checkGone(t, "ns1", objs, rv)
}

func TestRevision_TransactionReachesEveryWatcher(t *testing.T) {
	e := newEnv(t, true, nil)
	objs := e.threePods("ns1")
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(objs[2].RV)})
	resp, err := e.etcd.Client.Txn(context.Background()).Then(
		clientv3.OpPut(podKey("ns1", "d"), string(testkit.PodJSON("ns1", "d", "n1", nil))),
		clientv3.OpDelete(podKey("ns1", "a")),
		clientv3.OpPut(podKey("ns1", "b"), string(testkit.PodJSON("ns1", "b", "n2", nil))),
	).Commit()
	if err != nil || !resp.Succeeded {
		t.Fatalf("txn: %v", err)
	}
	rv := uint64(resp.Header.Revision)
	// etcd orders a transaction's events as its operations.
	testkit.Equal(t, "events", testkit.Next(t, w, 3), []string{
		fmt.Sprintf("ADDED ns1/d@%d", rv), fmt.Sprintf("DELETED ns1/a@%d", rv), fmt.Sprintf("MODIFIED ns1/b@%d", rv),
	})
	l, err := e.c.List(context.Background(), api.ListOptions{Namespace: "ns1"})
	if err != nil || len(l.Items) != 3 || l.Items[0].Name != "b" || l.Items[0].RV != rv || l.Items[2].Name != "d" {
		t.Fatalf("consistent list after the transaction: %v, %+v", err, l)
	}
	// A watch from the revision itself starts after all of it.
	after := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(rv)})
	testkit.ExpectQuiet(t, after, 100*time.Millisecond)
}

func TestRevision_LeaseExpiryReachesEveryWatcher(t *testing.T) {
	e := newEnv(t, true, nil)
	lease, err := e.etcd.Client.Grant(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*api.Object
	for _, n := range []string{"a", "b", "c"} {
		resp, err := e.etcd.Client.Put(context.Background(), podKey("ns1", n), string(testkit.PodJSON("ns1", n, "n1", nil)),
			clientv3.WithLease(lease.ID))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, &api.Object{Namespace: "ns1", Name: n, RV: uint64(resp.Header.Revision)})
	}
	e.waitRV(objs[2].RV)
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(objs[2].RV)})
	evs := testkit.Next(t, w, 3) // etcd revokes the lease after its TTL: one revision
	var rv uint64
	if _, err := fmt.Sscanf(evs[0], "DELETED ns1/a@%d", &rv); err != nil {
		t.Fatalf("first event %q: %v", evs[0], err)
	}
	testkit.Equal(t, "events", evs, deletedAt(objs, rv))
	e.checkGone(t, "ns1", objs, rv)
}

// A stream that ends (here: its watcher is closed) between two events of
// one revision first hands out the rest of that revision, then io.EOF, so a
// client resuming from the last RV it got loses nothing.
func TestRevision_StreamNeverEndsInsideARevision(t *testing.T) {
	e := newEnv(t, true, nil)
	objs := e.threePods("ns1")
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(objs[2].RV)})
	resp, err := e.etcd.Client.Delete(context.Background(), "/registry/pods/ns1/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	rv := uint64(resp.Header.Revision)
	e.waitRV(rv)
	want := deletedAt(objs, rv)
	testkit.Equal(t, "events", testkit.Next(t, w, 1), want[:1])
	w.Close()
	testkit.Equal(t, "events", testkit.Next(t, w, 2), want[1:])
	if _, err := w.Next(context.Background()); err != io.EOF {
		t.Fatalf("Next after the revision: %v, want io.EOF", err)
	}
}

// Wake-up entries of watchers that pin a value go with the last watcher of
// that value.
func TestNotifier_ClosedWatchersLeaveNothing(t *testing.T) {
	e := newEnv(t, true, nil)
	var ws []api.Watcher
	for i := range 2000 {
		p, err := api.ParsePredicate("", fmt.Sprintf("metadata.name=p%d", i%1000), testkit.Pods().SelectableFields)
		if err != nil {
			t.Fatal(err)
		}
		w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(e.c.RV()), Predicate: p})
		w.(*watcher).wakeChan() // what Next does before it blocks
		ws = append(ws, w)
	}
	if values, armed := e.c.wake.size(); values != 1000 || armed != 1000 {
		t.Fatalf("with 2000 watchers of 1000 names: %d values, %d armed; want 1000, 1000", values, armed)
	}
	for _, w := range ws {
		w.Close()
	}
	if values, armed := e.c.wake.size(); values != 0 || armed != 0 {
		t.Fatalf("after closing every watcher: %d values, %d armed; want none", values, armed)
	}
}

// A stream with a backlog still ends when its context ends (a deadline, a
// server shutdown), after the revision it is in, not once it has caught up.
func TestRevision_BusyStreamEndsWithItsContext(t *testing.T) {
	e := newEnv(t, true, nil)
	from := e.c.RV()
	objs := e.threePods("ns1")
	resp, err := e.etcd.Client.Delete(context.Background(), "/registry/pods/ns1/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	rv := uint64(resp.Header.Revision)
	d := e.create("ns1", "d", "n1") // still in the backlog when the stream ends
	e.waitRV(d.RV)
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(from)})
	testkit.Equal(t, "events", testkit.Next(t, w, 4), append([]string{testkit.Want(api.Added, objs[0]), testkit.Want(api.Added, objs[1]), testkit.Want(api.Added, objs[2])},
		deletedAt(objs[:1], rv)...))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var rest []string
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			if err != context.Canceled {
				t.Fatalf("Next with a cancelled context: %v", err)
			}
			break
		}
		rest = append(rest, testkit.Event(ev))
	}
	testkit.Equal(t, "events", rest, deletedAt(objs[1:], rv))
}
