package etcdstore_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// corruptMsg is the message of ErrCorrupt for key whose value, written at
// rev, does not decode for the reason why.
func corruptMsg(key string, rev uint64, why string) string {
	return fmt.Sprintf("Internal error occurred: StorageError: corrupt object, Code: 7, Key: %s, ResourceVersion: 0, AdditionalErrorMsg: object not decodable revision=%d: %s", key, rev, why)
}

const notCorruptMsg = `pods "%s" is invalid: ignoreStoreReadErrorWithClusterBreakingPotential: Invalid value: true: is exclusively used to delete corrupt object(s), try again by removing this option`

// wantCorrupt fails unless err is ErrCorrupt with exactly msg.
func wantCorrupt(t *testing.T, what string, err error, msg string) {
	t.Helper()
	if ae := wantErr(t, err, api.ErrCorrupt); ae.Message != msg {
		t.Fatalf("%s: message %q\nwant %q", what, ae.Message, msg)
	}
}

// B62: every verb on the key of a value that does not decode answers the
// 500 naming the key (as kube-apiserver), except Create (the key is taken)
// and List (skipped, counted); the value is untouched.
func TestCorrupt_B62_EveryVerb(t *testing.T) {
	e := newEnv(t, nil)
	e.create("ns1", "a", "", nil)
	const key = "/registry/pods/ns1/bad"
	rev := e.put(key, "{garbage")
	msg := corruptMsg(key, rev, "not JSON: invalid JSON")

	_, err := e.s.Get(e.ctx, "ns1", "bad", api.GetOptions{})
	wantCorrupt(t, "get", err, msg)
	_, err = e.s.Get(e.ctx, "ns1", "bad", api.GetOptions{ResourceVersion: "0"})
	wantCorrupt(t, "get rv=0", err, msg)
	_, err = e.s.Update(e.ctx, "ns1", "bad", testkit.PodJSON("ns1", "bad", "n1", nil))
	wantCorrupt(t, "update", err, msg)
	_, err = e.s.Patch(e.ctx, "ns1", "bad", api.NewMergePatch([]byte(`{"spec":{"nodeName":"n2"}}`)))
	wantCorrupt(t, "patch", err, msg)
	_, err = e.s.Delete(e.ctx, "ns1", "bad", api.Preconditions{})
	wantCorrupt(t, "delete", err, msg)
	_, err = e.s.Create(e.ctx, "ns1", testkit.PodJSON("ns1", "bad", "", nil))
	if ae := wantErr(t, err, api.ErrAlreadyExists); ae.Message != `pods "bad" already exists` {
		t.Fatalf("create: %q", ae.Message)
	}
	l, err := e.s.List(e.ctx, api.ListOptions{})
	if err != nil || !slices.Equal(names(l.Items), []string{"ns1/a"}) {
		t.Fatalf("list %v %v", names(l.Items), err)
	}
	if n := e.errs.count(key); n != 6 {
		t.Fatalf("OnDecodeError called %d times, want 6 (one per read; create reads nothing)", n)
	}
	if !e.s.KnownCorrupt(key) || e.s.KnownCorrupt("/registry/pods/ns1/a") {
		t.Fatal("KnownCorrupt does not tell the corrupt key from the healthy one")
	}
	resp, err := e.etcd.Client.Get(e.ctx, key)
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "{garbage" {
		t.Fatalf("the corrupt value changed: %v %v", resp, err)
	}
}

// B62: DeleteCorrupt removes the corrupt value, after which the name can
// be created again; on a healthy or absent object it is refused with
// kube-apiserver's 422 and changes nothing.
func TestCorrupt_B62_DeleteCorrupt(t *testing.T) {
	e := newEnv(t, nil)
	healthy := e.create("ns1", "ok", "", nil)
	const key = "/registry/pods/ns1/bad"
	e.put(key, `{"metadata":{"name":"other","namespace":"ns1"}}`)

	err := e.s.DeleteCorrupt(e.ctx, "ns1", "ok")
	if ae := wantErr(t, err, api.ErrInvalid); ae.Message != fmt.Sprintf(notCorruptMsg, "ok") ||
		ae.Field != "ignoreStoreReadErrorWithClusterBreakingPotential" {
		t.Fatalf("healthy: %+v", ae)
	}
	if got, err := e.s.Get(e.ctx, "ns1", "ok", api.GetOptions{}); err != nil || got.RV != healthy.RV {
		t.Fatalf("healthy object after a refused DeleteCorrupt: %v %v", got, err)
	}
	err = e.s.DeleteCorrupt(e.ctx, "ns1", "absent")
	if ae := wantErr(t, err, api.ErrInvalid); ae.Message != fmt.Sprintf(notCorruptMsg, "absent") {
		t.Fatalf("absent: %q", ae.Message)
	}

	if err := e.s.DeleteCorrupt(e.ctx, "ns1", "bad"); err != nil {
		t.Fatal(err)
	}
	if resp, err := e.etcd.Client.Get(e.ctx, key); err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("value still in etcd: %v %v", resp, err)
	}
	if e.s.KnownCorrupt(key) {
		t.Fatal("KnownCorrupt after the removal")
	}
	_, err = e.s.Get(e.ctx, "ns1", "bad", api.GetOptions{})
	wantErr(t, err, api.ErrNotFound)
	if _, err := e.s.Create(e.ctx, "ns1", testkit.PodJSON("ns1", "bad", "", nil)); err != nil {
		t.Fatalf("create after removal: %v", err)
	}
	err = e.s.DeleteCorrupt(e.ctx, "ns1", "bad")
	if ae := wantErr(t, err, api.ErrInvalid); ae.Message != fmt.Sprintf(notCorruptMsg, "bad") {
		t.Fatalf("recreated: %q", ae.Message)
	}
}

// B62: a corrupt key leaves the known set once a read finds it decodable
// again or absent.
func TestCorrupt_B62_KnownCorruptForgets(t *testing.T) {
	e := newEnv(t, nil)
	const key = "/registry/pods/ns1/p"
	e.put(key, "x")
	if _, err := e.s.Get(e.ctx, "ns1", "p", api.GetOptions{}); err == nil || !e.s.KnownCorrupt(key) {
		t.Fatalf("get of a corrupt value: %v, known %v", err, e.s.KnownCorrupt(key))
	}
	e.put(key, string(testkit.PodJSON("ns1", "p", "", nil)))
	if l, err := e.s.List(e.ctx, api.ListOptions{}); err != nil || len(l.Items) != 1 || e.s.KnownCorrupt(key) {
		t.Fatalf("after a list of the fixed value: %v %v, known %v", l, err, e.s.KnownCorrupt(key))
	}
	e.put(key, "x")
	if _, err := e.s.Get(e.ctx, "ns1", "p", api.GetOptions{}); err == nil || !e.s.KnownCorrupt(key) {
		t.Fatalf("corrupt again: %v, known %v", err, e.s.KnownCorrupt(key))
	}
	if _, err := e.etcd.Client.Delete(e.ctx, key); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.Get(e.ctx, "ns1", "p", api.GetOptions{})
	wantErr(t, err, api.ErrNotFound)
	if e.s.KnownCorrupt(key) {
		t.Fatal("KnownCorrupt after the key was deleted and read")
	}
}
