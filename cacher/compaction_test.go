package cacher

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/watchcached/watchcached/api"
)

// An exact list below etcd's compacted revision gets etcd's 410 Expired
// once the cache has learned of the compaction (here by its poll), even
// though the cache held that snapshot, and the snapshots only such lists
// needed are freed.
func TestCompaction_ExactListBelowCompactedIs410(t *testing.T) {
	e := newEnv(t, true, func(c *Config) { c.CompactionPollInterval = 20 * time.Millisecond })
	ctx := context.Background()
	a := e.create("default", "a", "n1")
	b := e.create("default", "b", "n1")
	e.waitRV(b.RV)
	exact := api.ListOptions{ResourceVersion: api.FormatRV(a.RV), ResourceVersionMatch: api.MatchExact}
	if l, err := e.c.List(ctx, exact); err != nil || len(l.Items) != 1 {
		t.Fatalf("exact list at %d before compaction: %v, %+v", a.RV, err, l)
	}
	delegated := testutil.ToFloat64(e.c.m.delegated.WithLabelValues("list", "compacted"))
	if err := e.store.Compact(ctx, b.RV); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.c.CompactedRV() != b.RV || e.c.Stats().OldestSnapshotRV < b.RV {
		if time.Now().After(deadline) {
			t.Fatalf("compaction at %d not learned: compacted %d, %+v", b.RV, e.c.CompactedRV(), e.c.Stats())
		}
		time.Sleep(10 * time.Millisecond) // polling an outcome, not timing a behaviour
	}
	_, err := e.c.List(ctx, exact)
	errIs(t, err, api.ErrExpired, "The resourceVersion for the provided list is too old.")
	if got := testutil.ToFloat64(e.c.m.delegated.WithLabelValues("list", "compacted")); got != delegated+1 {
		t.Fatalf("lists answered by etcd for compaction: %v, want %v", got, delegated+1)
	}
	if l, err := e.c.List(ctx, api.ListOptions{ResourceVersion: api.FormatRV(b.RV), ResourceVersionMatch: api.MatchExact}); err != nil || len(l.Items) != 2 {
		t.Fatalf("exact list at the compacted revision %d: %v, %+v", b.RV, err, l)
	}
	if got := testutil.ToFloat64(e.c.m.compacted); got != float64(b.RV) {
		t.Fatalf("compacted revision metric %v, want %d", got, b.RV)
	}
}

// ObserveCompaction (what the daemon's compactor calls) takes effect at once,
// only ever raises the known revision, and the reflector frees the
// snapshots below it.
func TestCompaction_ObserveCompaction(t *testing.T) {
	e := newEnv(t, true, func(c *Config) { c.CompactionPollInterval = -1 })
	a := e.create("default", "a", "n1")
	b := e.create("default", "b", "n1")
	e.waitRV(b.RV)
	e.c.ObserveCompaction(b.RV)
	e.c.ObserveCompaction(a.RV)
	if got := e.c.CompactedRV(); got != b.RV {
		t.Fatalf("CompactedRV %d, want %d", got, b.RV)
	}
	if !e.c.belowCompaction(a.RV) || e.c.belowCompaction(b.RV) {
		t.Fatalf("belowCompaction(%d)=%v, (%d)=%v", a.RV, e.c.belowCompaction(a.RV), b.RV, e.c.belowCompaction(b.RV))
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.c.Stats().OldestSnapshotRV < b.RV {
		if time.Now().After(deadline) {
			t.Fatalf("snapshots below %d not freed: %+v", b.RV, e.c.Stats())
		}
		time.Sleep(10 * time.Millisecond) // polling an outcome, not timing a behaviour
	}
}
