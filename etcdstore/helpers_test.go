package etcdstore_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
	"github.com/watchcached/watchcached/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// decodeErrors counts OnDecodeError calls per key.
type decodeErrors struct {
	mu   sync.Mutex
	keys map[string]int // guarded by mu
}

func (d *decodeErrors) record(key string, _ error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.keys == nil {
		d.keys = map[string]int{}
	}
	d.keys[key]++
}

func (d *decodeErrors) count(key string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.keys[key]
}

type env struct {
	t    *testing.T
	etcd *etcdtest.Server
	s    *etcdstore.Store
	errs *decodeErrors
	ctx  context.Context
}

func newEnv(t *testing.T, res *api.Resource) *env {
	t.Helper()
	if res == nil {
		res = testkit.Pods()
	}
	e := &env{t: t, etcd: etcdtest.Start(t), errs: &decodeErrors{}, ctx: context.Background()}
	s, err := etcdstore.New(etcdstore.Config{Client: e.etcd.Client, Resource: res, OnDecodeError: e.errs.record,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	e.s = s
	return e
}

func (e *env) create(ns, name, node string, labels map[string]string) *api.Object {
	e.t.Helper()
	obj, err := e.s.Create(e.ctx, ns, testkit.PodJSON(ns, name, node, labels))
	if err != nil {
		e.t.Fatalf("create %s/%s: %v", ns, name, err)
	}
	return obj
}

// put writes a raw value under key and returns its revision.
func (e *env) put(key, value string) uint64 {
	e.t.Helper()
	resp, err := e.etcd.Client.Put(e.ctx, key, value)
	if err != nil {
		e.t.Fatal(err)
	}
	return uint64(resp.Header.Revision)
}

func (e *env) rev() uint64 {
	e.t.Helper()
	r, err := e.s.CurrentRevision(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// wantErr fails unless err wraps sentinel; it returns the *api.Error.
func wantErr(t *testing.T, err, sentinel error) *api.Error {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("got error %v, want %v", err, sentinel)
	}
	ae := api.AsError(err)
	if ae == nil {
		t.Fatalf("error %v is not an *api.Error", err)
	}
	return ae
}

func names(objs []*api.Object) []string {
	out := []string{}
	for _, o := range objs {
		out = append(out, o.Namespace+"/"+o.Name)
	}
	return out
}
