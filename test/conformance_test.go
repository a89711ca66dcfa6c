package test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
	"github.com/watchcached/watchcached/test/conformance"
	"github.com/watchcached/watchcached/watchcache"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConformance runs the one suite against both storages, with the same
// expectations.
func TestConformance(t *testing.T) {
	t.Run("etcdstore", func(t *testing.T) { conformance.Run(t, etcdFactory) })
	t.Run("cacher", func(t *testing.T) { conformance.Run(t, cacherFactory) })
}

// quiet drops the storages' logs (relists, compaction) from test output.
var quiet = slog.New(slog.DiscardHandler)

// suiteRing is the cache's ring capacity in the suite: small, so that the
// scenarios that need a revision forgotten (B23, B32) overrun it quickly.
const suiteRing = 24

// newStore starts an etcd and a direct store for res on it.
func newStore(t *testing.T, res *api.Resource) (*etcdtest.Server, *etcdstore.Store) {
	t.Helper()
	srv := etcdtest.Start(t)
	st, err := etcdstore.New(etcdstore.Config{Client: srv.Client, Resource: res, Prefix: "/registry", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return srv, st
}

func compactFunc(c *clientv3.Client) func(t *testing.T, rev uint64) {
	return func(t *testing.T, rev uint64) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.Compact(ctx, int64(rev), clientv3.WithCompactPhysical()); err != nil {
			t.Fatalf("compact at %d: %v", rev, err)
		}
	}
}

func etcdFactory(t *testing.T, res *api.Resource) conformance.Fixture {
	srv, st := newStore(t, res)
	return conformance.Fixture{
		Storage: st, Etcd: srv.Client, Prefix: "/registry",
		Sync:    func(*testing.T, uint64) {}, // every read of etcd is at least as new as any finished write
		Compact: compactFunc(srv.Client),
	}
}

// newCacher starts a cacher over st with the suite's settings (a 300 ms
// freshness timeout keeps B4 fast); mut may change them before New.
func newCacher(t *testing.T, st *etcdstore.Store, mut func(*cacher.Config)) *cacher.Cacher {
	t.Helper()
	cfg := cacher.Config{
		Source:           st,
		FreshnessTimeout: 300 * time.Millisecond,
		ProgressInterval: 50 * time.Millisecond,
		Logger:           quiet,
		WatchCache:       watchcache.Config{MinCapacity: suiteRing, MaxCapacity: suiteRing, Window: time.Nanosecond},
	}
	if mut != nil {
		mut(&cfg)
	}
	c, err := cacher.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("cache not ready: %v", err)
	}
	return c
}

func cacherFactory(t *testing.T, res *api.Resource) conformance.Fixture {
	srv, st := newStore(t, res)
	c := newCacher(t, st, nil)
	return conformance.Fixture{
		Storage: c, Etcd: srv.Client, Prefix: "/registry",
		Sync:    func(t *testing.T, rv uint64) { syncCacher(t, c, rv) },
		Compact: compactFunc(srv.Client),
		History: suiteRing,
	}
}

// syncCacher waits until c has applied rv. A Get at RV rv blocks inside
// the cacher until its RV reaches rv (or its freshness timeout passes,
// then we ask again), so this is a wait on the condition, not a poll.
func syncCacher(t *testing.T, c *cacher.Cacher, rv uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.RV() < rv {
		_, err := c.Get(context.Background(), "default", "sync-probe", api.GetOptions{ResourceVersion: api.FormatRV(rv)})
		if err != nil && !errors.Is(err, api.ErrNotFound) && !errors.Is(err, api.ErrTooLargeRV) {
			t.Fatalf("sync to %d: %v", rv, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("cache stuck at %d, want %d", c.RV(), rv)
		}
	}
}
