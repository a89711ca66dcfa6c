package conformance

import (
	"fmt"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

func runGet(t *testing.T, f Factory) {
	runAll(t, f, []scenario{
		{"B1_ConsistentGet", getConsistent},
		{"B2_ResourceVersionZero", getZero},
		{"B3_NotOlderThan", getNotOlderThan},
		{"B4_TooLargeResourceVersion", getTooLarge},
		{"B5_NotFound", getNotFound},
		{"B6_BadResourceVersion", getBadRV},
	})
}

// B1: RV "" sees every write that finished before it, including writes
// that did not go through the storage at all.
func getConsistent(e *env) {
	a := e.create("default", "a", "n1", nil)
	got, err := e.Storage.Get(e.ctx, "default", "a", api.GetOptions{})
	if err != nil || testkit.Obj(got) != testkit.Obj(a) || string(got.Raw) != string(a.Raw) {
		e.t.Fatalf("got %v, %v; want %s", got, err, testkit.Obj(a))
	}
	// A write straight to etcd, behind the storage's back.
	resp, err := e.Etcd.Put(e.ctx, e.res.Key(e.Prefix, "default", "a"), string(pod("default", "a", "n9", nil, 99)))
	if err != nil {
		e.t.Fatal(err)
	}
	got, err = e.Storage.Get(e.ctx, "default", "a", api.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	if got.RV != uint64(resp.Header.Revision) || got.Fields["spec.nodeName"] != "n9" {
		e.t.Fatalf("got %s node %q, want @%d node n9", testkit.Obj(got), got.Fields["spec.nodeName"], resp.Header.Revision)
	}
}

// B2: RV "0" answers what the storage has (here: everything, after Sync).
func getZero(e *env) {
	a := e.create("default", "a", "n1", nil)
	e.Sync(e.t, a.RV)
	got, err := e.Storage.Get(e.ctx, "default", "a", api.GetOptions{ResourceVersion: "0"})
	if err != nil || testkit.Obj(got) != testkit.Obj(a) {
		e.t.Fatalf("got %v, %v; want %s", got, err, testkit.Obj(a))
	}
}

// B3: RV n answers the current object, which may be newer than n.
func getNotOlderThan(e *env) {
	a := e.create("default", "a", "n1", nil)
	a2 := e.update("default", "a", "n2", nil)
	e.Sync(e.t, a2.RV)
	for _, rv := range []uint64{a.RV, a2.RV} {
		got, err := e.Storage.Get(e.ctx, "default", "a", api.GetOptions{ResourceVersion: rvs(rv)})
		if err != nil || testkit.Obj(got) != testkit.Obj(a2) {
			e.t.Fatalf("RV %d: got %v, %v; want %s", rv, got, err, testkit.Obj(a2))
		}
	}
}

// B4: an RV the storage does not reach in time is 504 with the
// kube-apiserver message and cause.
func getTooLarge(e *env) {
	e.create("default", "a", "n1", nil)
	cur := e.sync()
	future := cur + 100
	_, err := e.Storage.Get(e.ctx, "default", "a", api.GetOptions{ResourceVersion: rvs(future)})
	ae := testkit.WantErr(e.t, err, api.ErrTooLargeRV, "", fmt.Sprintf("Too large resource version: %d, current: %d", future, cur))
	if ae.Cause != "ResourceVersionTooLarge" || ae.RetryAfterSeconds != 1 {
		e.t.Fatalf("cause %q retry-after %d", ae.Cause, ae.RetryAfterSeconds)
	}
}

// B5: an absent object is NotFound naming the resource and the name, for
// every kind of RV.
func getNotFound(e *env) {
	e.create("default", "a", "n1", nil)
	e.create("other", "missing", "n1", nil) // same name, other namespace
	cur := e.sync()
	for _, rv := range []string{"", "0", rvs(cur)} {
		_, err := e.Storage.Get(e.ctx, "default", "missing", api.GetOptions{ResourceVersion: rv})
		testkit.WantErr(e.t, err, api.ErrNotFound, "", `pods "missing" not found`)
	}
	e.del("default", "a")
	_, err := e.Storage.Get(e.ctx, "default", "a", api.GetOptions{})
	testkit.WantErr(e.t, err, api.ErrNotFound, "", `pods "a" not found`)
}

// B6: an RV that is not a non-negative integer is 400 naming the parameter.
func getBadRV(e *env) {
	e.create("default", "a", "n1", nil)
	for _, rv := range []string{"-1", "abc", "1.5", " 1", "01", "99999999999999999999"} {
		_, err := e.Storage.Get(e.ctx, "default", "a", api.GetOptions{ResourceVersion: rv})
		testkit.WantErr(e.t, err, api.ErrBadRequest, "resourceVersion", "")
	}
}
