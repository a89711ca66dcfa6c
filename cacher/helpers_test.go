package cacher

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
	"github.com/watchcached/watchcached/internal/testkit"
	"github.com/watchcached/watchcached/watchcache"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
	st, err := etcdstore.New(etcdstore.Config{Client: e.etcd.Client, Resource: testkit.Pods()})
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

func (e *env) create(ns, name, node string) *api.Object {
	e.t.Helper()
	o, err := e.store.Create(context.Background(), ns, testkit.PodJSON(ns, name, node, nil))
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
	o, err := e.store.Update(context.Background(), ns, name, testkit.PodJSON(ns, name, node, map[string]string{"gen": fmt.Sprint(e.gen)}))
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

func errIs(t *testing.T, err, sentinel error, msg string) *api.Error {
	t.Helper()
	return testkit.WantErr(t, err, sentinel, "", msg)
}

// put writes a raw value under key straight into etcd and returns its
// revision.
func (e *env) put(key, val string) uint64 {
	e.t.Helper()
	resp, err := e.etcd.Client.Put(context.Background(), key, val)
	if err != nil {
		e.t.Fatal(err)
	}
	return uint64(resp.Header.Revision)
}

var _ = io.EOF

// The direct etcd store is a Source.
var _ Source = (*etcdstore.Store)(nil)

// The direct etcd store offers range summaries to the check after a warm
// start.
var _ rangeChecker = (*etcdstore.Store)(nil)
