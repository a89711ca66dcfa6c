package cacher

import (
	"context"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

// TestConsistentRead_EtcdUnreachable_504: with etcd gone, a consistent GET
// and LIST (and a consistent continue page) answer the freshness wait's 504
// Timeout once the freshness timeout passes, instead of being handed to
// etcd, where they would wait out the caller's whole deadline. The reads
// are given a 60 s deadline, as HTTP requests are; 15 s is only a guard.
func TestConsistentRead_EtcdUnreachable_504(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true, func(c *Config) { c.FreshnessTimeout = 100 * time.Millisecond })
	a := e.create("default", "a", "n1")
	e.create("default", "b", "n1")
	e.waitRV(a.RV)
	e.etcd.Stop()

	const msg = "Timeout: etcd's current revision not learnt within 100ms"
	guard := func(what string, start time.Time) {
		t.Helper()
		if took := time.Since(start); took > 15*time.Second {
			t.Errorf("%s took %v", what, took)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	_, err := e.c.Get(ctx, "default", "a", api.GetOptions{})
	errIs(t, err, api.ErrTimeout, msg)
	guard("consistent get", start)

	start = time.Now()
	_, err = e.c.List(ctx, api.ListOptions{})
	errIs(t, err, api.ErrTimeout, msg)
	guard("consistent list", start)

	start = time.Now()
	_, err = e.c.List(ctx, api.ListOptions{Continue: api.EncodeContinue(-1, "default/a\x00")})
	errIs(t, err, api.ErrTimeout, msg)
	guard("consistent continue page", start)

	start = time.Now()
	noInitial := false
	w, err := e.c.Watch(ctx, api.WatchOptions{SendInitialEvents: &noInitial, ResourceVersionMatch: api.MatchNotOlderThan})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Next(ctx)
	w.Close()
	errIs(t, err, api.ErrTimeout, msg)
	guard("watch from etcd's current revision", start)

	// Reads that may be stale still come from the cache.
	l, err := e.c.List(ctx, api.ListOptions{ResourceVersion: "0"})
	if err != nil || len(l.Items) != 2 {
		t.Fatalf("RV=0 list with etcd down: %v %v", l, err)
	}
}
