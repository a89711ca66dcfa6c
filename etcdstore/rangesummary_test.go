package etcdstore_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/internal/testkit"
)

// B237: SummarizeRanges tells each key range's key count and highest mod
// revision at one revision (values that do not decode counted, an empty
// range {0, 0}), in transactions halved when etcd refuses their size;
// ListKeyRevisionsIn and ListIn list one range's keys and decoded objects
// there; a compacted revision is 410, a future one 504, a range outside
// the resource's prefix an error.
func TestStore_B237_SummarizeRanges(t *testing.T) {
	e := newEnv(t, nil)
	etcdstore.SetSummaryBatch(e.s, 256) // more than etcd's default --max-txn-ops (asserted below)
	objs := map[string]*api.Object{}
	for i := range 6 {
		objs[fmt.Sprint("p", i)] = e.create("ns", fmt.Sprint("p", i), "n1", nil)
	}
	p1, err := e.s.Update(e.ctx, "ns", "p1", testkit.PodJSON("ns", "p1", "n2", nil))
	if err != nil {
		t.Fatal(err)
	}
	bad := e.put("/registry/pods/ns/q-corrupt", "not json")
	at := bad
	if _, err := e.s.Delete(e.ctx, "ns", "p2", api.Preconditions{}); err != nil {
		t.Fatal(err)
	}
	const ns = "/registry/pods/ns/"
	four := []api.KeyRange{{Begin: "/registry/pods/", End: ns + "p2"}, {Begin: ns + "p2", End: ns + "p4"},
		{Begin: ns + "p4"}, {Begin: ns + "x", End: ns + "y"}}
	wantFour := []api.RangeSummary{{Count: 2, MaxRV: p1.RV}, {Count: 2, MaxRV: objs["p3"].RV}, {Count: 3, MaxRV: bad}, {}}
	var ranges []api.KeyRange
	var want []api.RangeSummary
	for range 75 {
		ranges, want = append(ranges, four...), append(want, wantFour...)
	}
	got, err := e.s.SummarizeRanges(e.ctx, at, ranges)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("summaries at %d: %v, %v; want %v", at, got, err, want)
	}
	ops := make([]clientv3.Op, 256)
	for i := range ops {
		ops[i] = clientv3.OpGet(ns + "p0")
	}
	if _, err := e.etcd.Client.Txn(e.ctx).Then(ops...).Commit(); !errors.Is(err, rpctypes.ErrTooManyOps) {
		t.Fatalf("a transaction of 256 reads: %v, want %v", err, rpctypes.ErrTooManyOps)
	}

	keys, err := e.s.ListKeyRevisionsIn(e.ctx, at, four[1])
	wantKeys := []api.KeyRevision{{Key: ns + "p2", RV: objs["p2"].RV}, {Key: ns + "p3", RV: objs["p3"].RV}}
	if err != nil || !reflect.DeepEqual(keys, wantKeys) {
		t.Fatalf("keys of %v: %v, %v; want %v", four[1], keys, err, wantKeys)
	}
	list, err := e.s.ListIn(e.ctx, at, four[2])
	if err != nil || !reflect.DeepEqual(names(list), []string{"ns/p4", "ns/p5"}) || list[0].RV != objs["p4"].RV {
		t.Fatalf("objects of %v: %v, %v; want ns/p4 at %d, ns/p5", four[2], testkit.Objs(list), err, objs["p4"].RV)
	}

	_, err = e.s.SummarizeRanges(e.ctx, at, []api.KeyRange{{Begin: "/registry/services/a"}})
	if want := `etcdstore: key range ["/registry/services/a", "") is not within "/registry/pods/"`; err == nil || err.Error() != want {
		t.Fatalf("a range of another resource: %v, want %s", err, want)
	}
	cur := e.rev()
	_, err = e.s.SummarizeRanges(e.ctx, cur+10, four)
	testkit.WantErr(t, err, api.ErrTooLargeRV, "", fmt.Sprintf("Too large resource version: %d, current: %d", cur+10, cur))
	if _, err := e.etcd.Client.Compact(e.ctx, int64(at)+1); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.SummarizeRanges(e.ctx, at, four)
	testkit.WantErr(t, err, api.ErrExpired, "", fmt.Sprintf("revision %d was compacted", at))
	_, err = e.s.ListIn(e.ctx, at, four[0])
	testkit.WantErr(t, err, api.ErrExpired, "", fmt.Sprintf("revision %d was compacted", at))
}
