package cacher

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

func TestConsistency_B65_MismatchTriggersRelist(t *testing.T) {
	e := newEnv(t, true, func(c *Config) { c.ConsistencyCheckInterval = -1 })
	a := e.create("default", "a", "n1")
	e.waitRV(a.RV)
	if err := e.c.checkConsistency(context.Background()); err != nil {
		t.Fatalf("consistent cache reported: %v", err)
	}
	// Corrupt the cache: a delete etcd never saw.
	rv := e.c.RV() + 1
	if err := e.c.wc.Append(&api.Event{Type: api.Deleted, Object: a.WithRV(rv), Prev: a, RV: rv}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.c.checkConsistency(context.Background()); err == nil || !strings.Contains(err.Error(), "ahead of etcd") {
		t.Fatalf("check of a cache ahead of etcd: %v", err)
	}
	// etcd's real event at that revision is at the cache RV: never dropped
	// as a duplicate, it makes the reflector relist, which repairs the cache.
	b := e.create("default", "b", "n1")
	if b.RV != rv {
		t.Fatalf("b at %d, want %d", b.RV, rv)
	}
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(e.c.m.relists) < 1 || !e.c.Ready() || e.c.RV() < b.RV {
		if time.Now().After(deadline) {
			t.Fatal("the reflector did not relist on an event at the cache RV")
		}
		time.Sleep(10 * time.Millisecond) // polling an outcome, not timing a behaviour
	}
	if err := e.c.checkConsistency(context.Background()); err != nil {
		t.Fatalf("check after the relist: %v", err)
	}
	for _, name := range []string{"a", "b"} {
		if _, err := e.c.Get(context.Background(), "default", name, api.GetOptions{ResourceVersion: "0"}); err != nil {
			t.Fatalf("Get %s after the relist: %v", name, err)
		}
	}
}

func TestConsistency_B65_LoopRelists(t *testing.T) {
	e := newEnv(t, true, func(c *Config) { c.ConsistencyCheckInterval = 20 * time.Millisecond })
	a := e.create("default", "a", "n1")
	e.waitRV(a.RV)
	rv := e.c.RV() + 1
	if err := e.c.wc.Append(&api.Event{Type: api.Deleted, Object: a.WithRV(rv), Prev: a, RV: rv}, time.Now()); err != nil {
		t.Fatal(err)
	}
	// A watcher open across the relist is ended with 410, never fed the repair as a gap.
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(rv)})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if o, err := e.c.Get(context.Background(), "default", "a", api.GetOptions{ResourceVersion: "0"}); err == nil && o.RV == a.RV {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("cache was not repaired by a relist")
		}
		time.Sleep(10 * time.Millisecond) // polling an outcome, not timing a behaviour
	}
	_, err := testkit.NextErr(t, w, 5)
	errIs(t, err, api.ErrExpired, "")
}
