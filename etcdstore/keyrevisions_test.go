package etcdstore_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// B235: ListKeyRevisions lists the keys and mod revisions etcd holds at
// one revision (also of values that do not decode), without values; a
// compacted revision is 410, a future one 504 ResourceVersionTooLarge.
func TestStore_B235_ListKeyRevisions(t *testing.T) {
	e := newEnv(t, nil)
	var want []api.KeyRevision
	for i := range 3 {
		o, err := e.s.Create(e.ctx, "ns", testkit.PodJSON("ns", fmt.Sprintf("p%d", i), "n1", nil))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, api.KeyRevision{Key: o.Key, RV: o.RV})
	}
	bad, err := e.etcd.Client.Put(e.ctx, "/registry/pods/ns/q-corrupt", "not json")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, api.KeyRevision{Key: "/registry/pods/ns/q-corrupt", RV: uint64(bad.Header.Revision)})
	at := uint64(bad.Header.Revision)
	if _, err := e.s.Delete(e.ctx, "ns", "p1", api.Preconditions{}); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.ListKeyRevisions(e.ctx, at)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("at %d: %v, %v; want %v", at, got, err, want)
	}
	if _, err := e.etcd.Client.Compact(e.ctx, int64(at)+1); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.ListKeyRevisions(e.ctx, at)
	testkit.WantErr(t, err, api.ErrExpired, "", fmt.Sprintf("revision %d was compacted", at))
	_, err = e.s.ListKeyRevisions(e.ctx, at+100)
	testkit.WantErr(t, err, api.ErrTooLargeRV, "", fmt.Sprintf("Too large resource version: %d, current: %d", at+100, at+1))
}
