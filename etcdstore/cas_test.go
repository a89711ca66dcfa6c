package etcdstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/internal/testkit"
)

// racer makes another writer win the race against the store: before each
// of the store's transactions (while rounds last) it runs race, a write
// with the test's own client, so the transaction's compare on the
// mod_revision the store read fails. Safe for concurrent use.
type racer struct {
	mu     sync.Mutex
	rounds int    // guarded by mu: transactions still to lose
	txns   int    // guarded by mu: transactions the store sent
	race   func() // set before the store writes
}

func (r *racer) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if method == "/etcdserverpb.KV/Txn" {
		r.mu.Lock()
		r.txns++
		lose := r.rounds > 0
		if lose {
			r.rounds--
		}
		r.mu.Unlock()
		if lose {
			r.race()
		}
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// lose arms the racer for the next n transactions and resets the count.
func (r *racer) lose(n int, race func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rounds, r.txns, r.race = n, 0, race
}

func (r *racer) sent() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.txns
}

// newRaceEnv is newEnv with the store on a client whose transactions r
// can make lose.
func newRaceEnv(t *testing.T) (*env, *racer) {
	t.Helper()
	e := newEnv(t, nil)
	r := &racer{}
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{e.etcd.Endpoint}, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(r.intercept)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s, err := etcdstore.New(etcdstore.Config{Client: c, Resource: testkit.Pods(), OnDecodeError: e.errs.record,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	e.s = s
	return e, r
}

// rawPod is a stored pod value with a uid and a node of the test's choice.
func rawPod(name, uid, node string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q,"namespace":"ns","uid":%q},"spec":{"nodeName":%q}}`, name, uid, node)
}

const conflictMsg = `Operation cannot be fulfilled on pods "p": the object has been modified; please apply your changes to the latest version and try again`

// B51, B52, B53: a write that loses the race to another one reads the key
// again and decides on what that write left; the retried write carries
// its revision on.
func TestCAS_LostRaceIsRetriedOnTheWinnersObject(t *testing.T) {
	e, r := newRaceEnv(t)
	const key = "/registry/pods/ns/p"
	e.create("ns", "p", "n0", nil)
	var raced uint64
	race := func(uid string) func() {
		return func() { raced = e.put(key, rawPod("p", uid, "raced")) }
	}

	r.lose(1, race("u-update"))
	upd, err := e.s.Update(e.ctx, "ns", "p", testkit.PodJSON("ns", "p", "n1", nil))
	if err != nil || upd.UID != "u-update" || upd.Fields["spec.nodeName"] != "n1" || upd.RV != raced+1 || r.sent() != 2 {
		t.Fatalf("update: %v %v (raced at %d, %d transactions)", upd, err, raced, r.sent())
	}
	r.lose(1, race("u-patch"))
	pat, err := e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"metadata":{"labels":{"a":"b"}}}`)))
	if err != nil || pat.UID != "u-patch" || pat.Fields["spec.nodeName"] != "raced" || pat.Labels["a"] != "b" ||
		pat.RV != raced+1 || r.sent() != 2 {
		t.Fatalf("patch: %v %v (raced at %d, %d transactions)", pat, err, raced, r.sent())
	}
	r.lose(1, race("u-delete"))
	del, err := e.s.Delete(e.ctx, "ns", "p", api.Preconditions{})
	if err != nil || del.UID != "u-delete" || del.RV != raced+1 || r.sent() != 2 {
		t.Fatalf("delete: %v %v (raced at %d, %d transactions)", del, err, raced, r.sent())
	}
}

// B51: an update whose resourceVersion precondition loses the race is a
// conflict at once, with no second read or transaction.
func TestCAS_UpdateWithResourceVersionLosesOnce(t *testing.T) {
	e, r := newRaceEnv(t)
	p := e.create("ns", "p", "n0", nil)
	r.lose(1, func() { e.put(p.Key, rawPod("p", p.UID, "raced")) })
	_, err := e.s.Update(e.ctx, "ns", "p", []byte(`{"metadata":{"name":"p","resourceVersion":"`+api.FormatRV(p.RV)+`"}}`))
	if ae := wantErr(t, err, api.ErrConflict); ae.Message != conflictMsg || r.sent() != 1 {
		t.Fatalf("message %q after %d transactions", ae.Message, r.sent())
	}
}

// B51, B52, B53, B62: a write that keeps losing gives up with the conflict
// after maxWriteRetries (16) transactions.
func TestCAS_RetriesAreBounded(t *testing.T) {
	e, r := newRaceEnv(t)
	p := e.create("ns", "p", "n0", nil)
	n := 0
	again := func() { n++; e.put(p.Key, rawPod("p", p.UID, fmt.Sprint("raced", n))) }
	for _, c := range []struct {
		verb  string
		write func() error
	}{
		{"update", func() error {
			_, err := e.s.Update(e.ctx, "ns", "p", testkit.PodJSON("ns", "p", "mine", nil))
			return err
		}},
		{"patch", func() error {
			_, err := e.s.Patch(e.ctx, "ns", "p", api.NewMergePatch([]byte(`{"spec":{"nodeName":"mine"}}`)))
			return err
		}},
		{"delete", func() error { _, err := e.s.Delete(e.ctx, "ns", "p", api.Preconditions{}); return err }},
	} {
		r.lose(100, again)
		if ae := wantErr(t, c.write(), api.ErrConflict); ae.Message != conflictMsg || r.sent() != 16 {
			t.Fatalf("%s: message %q after %d transactions, want 16", c.verb, ae.Message, r.sent())
		}
	}
	const bad = "/registry/pods/ns/bad"
	e.put(bad, "{garbage")
	r.lose(100, func() { e.put(bad, "{still garbage") })
	err := e.s.DeleteCorrupt(e.ctx, "ns", "bad")
	if ae := wantErr(t, err, api.ErrConflict); r.sent() != 16 ||
		ae.Message != `Operation cannot be fulfilled on pods "bad": the object has been modified; please apply your changes to the latest version and try again` {
		t.Fatalf("delete corrupt: message %q after %d transactions, want 16", ae.Message, r.sent())
	}
}

// B62: DeleteCorrupt that loses the race judges the key again: removed by
// the other writer is success, still corrupt is removed, healthy now is
// refused.
func TestCAS_DeleteCorruptLostRace(t *testing.T) {
	e, r := newRaceEnv(t)
	const key = "/registry/pods/ns/bad"
	for _, c := range []struct {
		name    string
		race    func()
		wantErr string // "" for success
		absent  bool   // the key is gone afterwards
	}{
		// The read that finds the key gone also drops it from the corrupt set.
		{"deleted meanwhile", func() { _, _ = e.etcd.Client.Delete(e.ctx, key) }, "", true},
		{"still corrupt", func() { e.put(key, "{other garbage") }, "", true},
		{"healthy now", func() { e.put(key, rawPod("bad", "u-1", "n")) }, fmt.Sprintf(notCorruptMsg, "bad"), false},
	} {
		e.put(key, "{garbage")
		r.lose(1, c.race)
		err := e.s.DeleteCorrupt(e.ctx, "ns", "bad")
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || api.AsError(err).Message != c.wantErr) {
			t.Fatalf("%s: %v, want %q", c.name, err, c.wantErr)
		}
		resp, gerr := e.etcd.Client.Get(e.ctx, key)
		if gerr != nil || (len(resp.Kvs) == 0) != c.absent || e.s.KnownCorrupt(key) {
			t.Fatalf("%s: key left %v %v, known corrupt %v", c.name, resp.Kvs, gerr, e.s.KnownCorrupt(key))
		}
		if got := r.sent(); c.name == "still corrupt" && got != 2 || c.name != "still corrupt" && got != 1 {
			t.Fatalf("%s: %d transactions", c.name, got)
		}
	}
}
