package cacher

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// TestEtcdDown_StaleReadsServedOthersBounded_B63: with etcd gone, reads that may be stale keep working from
// the cache; consistent reads and writes fail with a clear 503/504 error
// once their deadline passes, never hang and never serve stale data.
func TestEtcdDown_StaleReadsServedOthersBounded_B63(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true, func(c *Config) { c.FreshnessTimeout = 100 * time.Millisecond })
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
	// B33: a sendInitialEvents watch that cannot learn etcd's revision in
	// time ends with an ERROR (504), not with a bare context error that the
	// frontend would treat as a silent end of the stream.
	// A consistent get in flight makes the watch's revision request queue
	// behind it, so its own deadline passes first.
	sent := e.c.RevisionRequests()
	getDone := make(chan error, 1)
	gctx, cancel3 := context.WithTimeout(ctx, 2*time.Second)
	defer cancel3()
	go func() {
		_, err := e.c.Get(gctx, "default", "a", api.GetOptions{})
		getDone <- err
	}()
	for deadline := time.Now().Add(2 * time.Second); e.c.RevisionRequests() == sent; {
		if time.Now().After(deadline) {
			t.Fatal("the consistent get sent no revision request")
		}
		runtime.Gosched()
	}
	sie := true
	w, err := e.c.Watch(ctx, api.WatchOptions{SendInitialEvents: &sie, ResourceVersionMatch: api.MatchNotOlderThan})
	if err != nil {
		t.Fatalf("SIE watch with etcd down: %v", err)
	}
	_, err = w.Next(ctx)
	w.Close()
	if errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, api.ErrTimeout) {
		t.Fatalf("SIE watch with etcd down: first Next %v, want an api timeout error", err)
	}
	unavailable("consistent get during the watch", <-getDone)
	wctx, cancel2 := context.WithTimeout(ctx, 2*time.Second)
	defer cancel2()
	_, err = e.c.Create(wctx, "default", testkit.PodJSON("default", "b", "n1", nil))
	unavailable("create", err)
}
