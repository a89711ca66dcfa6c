package cacher

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// TestReflector_B60_PagedStartup: the cache lists etcd in pages at one
// revision, becomes ready with exactly etcd's state, then follows the watch
// from the list's revision with no gap.
func TestReflector_B60_PagedStartup(t *testing.T) {
	e := newEnv(t, false, func(c *Config) { c.ListPageSize = 3 })
	var exp []string
	for i := range 10 {
		o := e.create(fmt.Sprintf("ns%d", i%2), fmt.Sprintf("p%d", i), "n1")
		exp = append(exp, testkit.Obj(o))
	}
	e.del("ns0", "p0")
	exp = exp[1:]
	if e.c.Ready() {
		t.Fatal("ready before Start")
	}
	e.start()
	l, err := e.c.List(context.Background(), api.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	// Key order: ns0/... then ns1/...
	var wantSorted []string
	for _, ns := range []string{"ns0", "ns1"} {
		for _, w := range exp {
			if w[:3] == ns {
				wantSorted = append(wantSorted, w)
			}
		}
	}
	testkit.Equal(t, "items", names(l), wantSorted)
	if l.RV != e.c.RV() || l.RV < 12 {
		t.Fatalf("list RV %d, cache RV %d", l.RV, e.c.RV())
	}
	// The watch continues right after the list's revision.
	w := watch(t, e, api.WatchOptions{ResourceVersion: api.FormatRV(l.RV)})
	o := e.create("ns0", "after", "n1")
	testkit.Equal(t, "events", testkit.Next(t, w, 1), []string{testkit.Want(api.Added, o)})
}

// The reflector's retry delays double from the minimum up to the maximum,
// each stretched by a random part of up to half of itself, so replicas that
// lost etcd together do not retry in lockstep; reset starts over.
func TestReflector_BackoffJitter(t *testing.T) {
	b := newBackoff(100*time.Millisecond, 800*time.Millisecond)
	distinct := map[time.Duration]bool{}
	for round := range 3 {
		base := 100 * time.Millisecond
		for step := range 6 {
			d := b.next()
			if d < base || d >= base+base/2 {
				t.Fatalf("round %d step %d: delay %v outside [%v, %v)", round, step, d, base, base+base/2)
			}
			distinct[d] = true
			base = min(2*base, 800*time.Millisecond)
		}
		b.reset()
	}
	if len(distinct) < 10 {
		t.Fatalf("only %d distinct delays in 18: no jitter", len(distinct))
	}
}
