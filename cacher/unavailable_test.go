package cacher

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

// TestEtcdDown_B63: with etcd gone, reads that may be stale keep working from
// the cache; consistent reads and writes fail with a clear 503/504 error
// once their deadline passes, never hang and never serve stale data.
func TestEtcdDown_B63(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true, func(c *Config) { c.FreshnessTimeout = 300 * time.Millisecond })
	a := e.create("default", "a", "n1")
	e.waitRV(a.RV)
	e.etcd.Stop()

	ctx := context.Background()
	got, err := e.c.Get(ctx, "default", "a", api.GetOptions{ResourceVersion: "0"})
	if err != nil || got.RV != a.RV {
		t.Fatalf("RV=0 get with etcd down: %v %v", got, err)
	}
	got, err = e.c.Get(ctx, "default", "a", api.GetOptions{ResourceVersion: api.FormatRV(a.RV)})
	if err != nil || got.RV != a.RV {
		t.Fatalf("RV=n get with etcd down: %v %v", got, err)
	}
	l, err := e.c.List(ctx, api.ListOptions{ResourceVersion: "0"})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("RV=0 list with etcd down: %v %v", l, err)
	}
	unavailable := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, api.ErrTimeout) && !errors.Is(err, api.ErrUnavailable) {
			t.Fatalf("%s with etcd down: %v, want a timeout or unavailable error", what, err)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = e.c.Get(rctx, "default", "a", api.GetOptions{})
	unavailable("consistent get", err)
	wctx, cancel2 := context.WithTimeout(ctx, 2*time.Second)
	defer cancel2()
	_, err = e.c.Create(wctx, "default", podJSON("default", "b", "n1", nil))
	unavailable("create", err)
}
