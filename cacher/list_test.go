package cacher

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// names renders a list's items ("ns/name@RV").
func names(l *api.List) []string { return testkit.Objs(l.Items) }

func TestList_B10_B20_ConsistentSortedNamespaced(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	b := e.create("ns1", "b", "n1")
	a := e.create("ns1", "a", "n1")
	x := e.create("ns10", "x", "n1")
	l, err := e.c.List(ctx, api.ListOptions{Namespace: "ns1"})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Equal(t, "items", names(l), []string{testkit.Obj(a), testkit.Obj(b)}) // B26: ns10 does not leak into ns1
	if l.RV < x.RV || l.Continue != "" || l.RemainingItemCount != nil {
		t.Fatalf("list RV %d (want >= %d), continue %q", l.RV, x.RV, l.Continue)
	}
	all, err := e.c.List(ctx, api.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Equal(t, "items", names(all), []string{testkit.Obj(a), testkit.Obj(b), testkit.Obj(x)})
	empty, err := e.c.List(ctx, api.ListOptions{Namespace: "none"})
	if err != nil || empty.Items == nil || len(empty.Items) != 0 || empty.RV == 0 {
		t.Fatalf("B20 empty list: %+v %v", empty, err)
	}
}

func TestList_B11_B21_B22_LimitAtRV0(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	var objs []*api.Object
	for i := range 5 {
		objs = append(objs, e.create("default", fmt.Sprintf("p%d", i), "n1"))
	}
	e.waitRV(objs[4].RV)
	l, err := e.c.List(ctx, api.ListOptions{ResourceVersion: "0", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Equal(t, "items", names(l), []string{testkit.Obj(objs[0]), testkit.Obj(objs[1])})
	if l.Continue == "" || l.RemainingItemCount == nil || *l.RemainingItemCount != 3 {
		t.Fatalf("continue %q remaining %v", l.Continue, l.RemainingItemCount)
	}
	rv, start, err := api.DecodeContinue(l.Continue)
	if err != nil || uint64(rv) != l.RV || start != "default/p1\x00" {
		t.Fatalf("token rv %d start %q err %v (list RV %d)", rv, start, err, l.RV)
	}
	// B14: the next pages come from the same snapshot even after writes.
	later := e.create("default", "p2a", "n1")
	e.update("default", "p3", "n2")
	e.waitRV(later.RV + 1)
	var pages [][]string
	for tok := l.Continue; tok != ""; {
		p, err := e.c.List(ctx, api.ListOptions{Limit: 2, Continue: tok})
		if err != nil {
			t.Fatal(err)
		}
		if p.RV != l.RV {
			t.Fatalf("page RV %d, want %d", p.RV, l.RV)
		}
		pages = append(pages, names(p))
		tok = p.Continue
	}
	if len(pages) != 2 {
		t.Fatalf("pages %q, want 2", pages)
	}
	testkit.Equal(t, "events", pages[0], []string{testkit.Obj(objs[2]), testkit.Obj(objs[3])})
	testkit.Equal(t, "events", pages[1], []string{testkit.Obj(objs[4])})
}

func TestList_B13_ExactFromSnapshot(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	a1 := e.create("default", "a", "n1")
	b1 := e.create("default", "b", "n1")
	a2 := e.update("default", "a", "n2")
	e.del("default", "b")
	c1 := e.create("default", "c", "n1")
	e.waitRV(c1.RV)
	for _, tc := range []struct {
		rv   uint64
		want []string
	}{
		{a1.RV, []string{testkit.Obj(a1)}},
		{b1.RV, []string{testkit.Obj(a1), testkit.Obj(b1)}},
		{a2.RV, []string{testkit.Obj(a2), testkit.Obj(b1)}},
		{a2.RV + 1, []string{testkit.Obj(a2)}},
		{c1.RV, []string{testkit.Obj(a2), testkit.Obj(c1)}},
	} {
		l, err := e.c.List(ctx, api.ListOptions{ResourceVersion: api.FormatRV(tc.rv), ResourceVersionMatch: api.MatchExact})
		if err != nil {
			t.Fatal(err)
		}
		if l.RV != tc.rv {
			t.Fatalf("exact list RV %d, want %d", l.RV, tc.rv)
		}
		testkit.Equal(t, "items", names(l), tc.want)
		// RVM="" with a limit is exact too.
		l, err = e.c.List(ctx, api.ListOptions{ResourceVersion: api.FormatRV(tc.rv), Limit: 10})
		if err != nil || l.RV != tc.rv {
			t.Fatalf("limit list at %d: RV %v err %v", tc.rv, l, err)
		}
		testkit.Equal(t, "items", names(l), tc.want)
	}
	// B12: NotOlderThan lists the latest state.
	l, err := e.c.List(ctx, api.ListOptions{ResourceVersion: api.FormatRV(a1.RV), ResourceVersionMatch: api.MatchNotOlderThan})
	if err != nil || l.RV < c1.RV {
		t.Fatalf("not-older-than: %v %v", l, err)
	}
	testkit.Equal(t, "items", names(l), []string{testkit.Obj(a2), testkit.Obj(c1)})
}

func TestList_B15_NotReady(t *testing.T) {
	e := newEnv(t, false, nil)
	ctx := context.Background()
	a := e.create("default", "a", "n1")
	_, err := e.c.List(ctx, api.ListOptions{})
	ae := errIs(t, err, api.ErrNotReady, "storage is (re)initializing")
	if ae.RetryAfterSeconds < 1 || ae.RetryAfterSeconds > 30 {
		t.Fatalf("retry after %d", ae.RetryAfterSeconds)
	}
	// A limited list without selectors goes to etcd.
	l, err := e.c.List(ctx, api.ListOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Equal(t, "items", names(l), []string{testkit.Obj(a)})
}

func TestList_B24_B25_SelectorsAndIndex(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	var last *api.Object
	for i := range 30 {
		last = e.create(fmt.Sprintf("ns%d", i%3), fmt.Sprintf("p%02d", i), fmt.Sprintf("node-%d", i%4))
	}
	e.waitRV(last.RV)
	for _, sel := range []string{"spec.nodeName=node-1", "spec.nodeName==node-2", "spec.nodeName!=node-1", "metadata.namespace=ns2,spec.nodeName=node-3"} {
		p, err := api.ParsePredicate("", sel, testkit.Pods().SelectableFields)
		if err != nil {
			t.Fatal(err)
		}
		indexed, err := e.c.List(ctx, api.ListOptions{Predicate: p})
		if err != nil {
			t.Fatal(err)
		}
		full, err := e.c.List(ctx, api.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var scanned []string
		for _, o := range full.Items {
			if p.Matches(o) {
				scanned = append(scanned, testkit.Obj(o))
			}
		}
		if len(scanned) == 0 {
			t.Fatalf("%s matches nothing", sel)
		}
		testkit.Equal(t, "items", names(indexed), scanned)
		// The same through pages of 2.
		var paged []string
		for tok := ""; ; {
			l, err := e.c.List(ctx, api.ListOptions{Predicate: p, Limit: 2, Continue: tok, ResourceVersion: rvIfFirst(tok, indexed.RV)})
			if err != nil {
				t.Fatal(err)
			}
			if l.RemainingItemCount != nil {
				t.Fatalf("remainingItemCount with selectors")
			}
			paged = append(paged, names(l)...)
			if tok = l.Continue; tok == "" {
				break
			}
		}
		testkit.Equal(t, "events", paged, scanned)
	}
}

func rvIfFirst(tok string, rv uint64) string {
	if tok == "" {
		return api.FormatRV(rv)
	}
	return ""
}

func TestList_B16_InvalidOptions(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	yes := true
	for _, tc := range []struct {
		opts     api.ListOptions
		sentinel error
		field    string
	}{
		{api.ListOptions{ResourceVersionMatch: api.MatchExact}, api.ErrInvalid, "resourceVersionMatch"},
		{api.ListOptions{ResourceVersion: "0", ResourceVersionMatch: api.MatchExact}, api.ErrInvalid, "resourceVersionMatch"},
		{api.ListOptions{ResourceVersion: "1", ResourceVersionMatch: "Newest"}, api.ErrInvalid, "resourceVersionMatch"},
		{api.ListOptions{SendInitialEvents: &yes}, api.ErrInvalid, "sendInitialEvents"},
		{api.ListOptions{ResourceVersion: "5", Continue: api.EncodeContinue(3, "a\x00")}, api.ErrBadRequest, "resourceVersion"},
		{api.ListOptions{Continue: "!!!"}, api.ErrBadRequest, "continue"},
	} {
		_, err := e.c.List(ctx, tc.opts)
		ae := errIs(t, err, tc.sentinel, "")
		if ae.Field != tc.field {
			t.Fatalf("%+v: field %q, want %q (%v)", tc.opts, ae.Field, tc.field, err)
		}
	}
}

// TestList_B26_NamespaceListSizedByMatches: a list of a small namespace in a
// larger store does not reserve room for the whole store.
func TestList_B26_NamespaceListSizedByMatches(t *testing.T) {
	e := newEnv(t, true, nil)
	for i := range 20 {
		e.create("big", fmt.Sprintf("p%d", i), "n1")
	}
	s := e.create("small", "s", "n1")
	e.waitRV(s.RV)
	l, err := e.c.List(context.Background(), api.ListOptions{ResourceVersion: "0", Namespace: "small"})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Equal(t, "items", names(l), []string{testkit.Obj(s)})
	if cap(l.Items) > 4 {
		t.Fatalf("a one-item namespace list reserved %d slots", cap(l.Items))
	}
	all, err := e.c.List(context.Background(), api.ListOptions{ResourceVersion: "0"})
	if err != nil || len(all.Items) != 21 {
		t.Fatalf("whole list: %d items, %v", len(all.Items), err)
	}
}

// TestList_B23_CompactedTokenWhileSnapshotKept: a continue token whose
// revision etcd has compacted gets 410 with a replacement token even though
// the cache still holds the snapshot, and the replacement continues from the
// latest state at the same key.
func TestList_B23_CompactedTokenWhileSnapshotKept(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	var objs []*api.Object
	for i := range 4 {
		objs = append(objs, e.create("default", fmt.Sprintf("p%d", i), "n1"))
	}
	e.waitRV(objs[3].RV)
	first, err := e.c.List(ctx, api.ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Still servable from the cache before compaction.
	if p, err := e.c.List(ctx, api.ListOptions{Limit: 2, Continue: first.Continue}); err != nil || p.RV != first.RV {
		t.Fatalf("page before compaction: %v %v", p, err)
	}
	upd := e.update("default", "p3", "n2")
	e.waitRV(upd.RV)
	if err := e.store.Compact(ctx, upd.RV); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.List(ctx, api.ListOptions{Limit: 2, Continue: first.Continue})
	ae := errIs(t, err, api.ErrExpired, "")
	rv, start, derr := api.DecodeContinue(ae.Continue)
	if derr != nil || rv != -1 || start != "default/p1\x00" {
		t.Fatalf("replacement token rv %d start %q err %v", rv, start, derr)
	}
	next, err := e.c.List(ctx, api.ListOptions{Limit: 2, Continue: ae.Continue})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Equal(t, "items", names(next), []string{testkit.Obj(objs[2]), testkit.Obj(upd)})
}

// TestStreamList_B182: StreamList of an unlimited list is a Seq over the
// snapshot: the same objects as List, in order, with selectors and a
// namespace, walkable again with the same result after later writes (it
// pins its snapshot); a limited one collects its page as List does.
func TestStreamList_B182(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	var last *api.Object
	for i := range 6 {
		last = e.create(fmt.Sprintf("ns%d", i%2), fmt.Sprintf("p%d", i), fmt.Sprintf("n%d", i%3))
	}
	e.waitRV(last.RV)
	pred, err := api.ParsePredicate("", "spec.nodeName=n1", e.c.Resource().SelectableFields)
	if err != nil {
		t.Fatal(err)
	}
	for i, opts := range []api.ListOptions{{ResourceVersion: "0"}, {Namespace: "ns1"}, {Predicate: pred}} {
		want, err := e.c.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.c.StreamList(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq == nil || got.Items != nil || got.RV != want.RV || got.Continue != "" {
			t.Fatalf("%+v: StreamList %+v; want a Seq at RV %d", opts, got, want.RV)
		}
		walked := slices.Collect(got.All())
		testkit.Equal(t, "items", testkit.Objs(walked), names(want))
		e.create("ns1", fmt.Sprintf("later-%d", i), "n1")
		testkit.Equal(t, "walked again", testkit.Objs(slices.Collect(got.All())), names(want))
	}
	page, err := e.c.StreamList(ctx, api.ListOptions{ResourceVersion: "0", Limit: 2})
	if err != nil || page.Seq != nil || len(page.Items) != 2 || page.Continue == "" {
		t.Fatalf("limited StreamList %+v %v; want a page of Items", page, err)
	}
}

// TestList_B257_FieldSelectorAtPastRV: a LIST with an indexed field
// selector at an exact past RV, whose checkpoint no longer keeps the
// index (B256), and its continue pages at that RV, return exactly the
// objects that matched then (moved, deleted and later objects are judged
// by their state at that RV), at that RV; the same LIST at the latest RV
// returns the current matches.
func TestList_B257_FieldSelectorAtPastRV(t *testing.T) {
	e := newEnv(t, true, func(c *Config) { c.WatchCache.CheckpointEvery = 2 })
	ctx := context.Background()
	var onNode1 []string
	var objs []*api.Object
	for i := range 12 {
		o := e.create(fmt.Sprintf("ns%d", i%2), fmt.Sprintf("p%02d", i), fmt.Sprintf("node-%d", i%3))
		objs = append(objs, o)
		if i%3 == 1 {
			onNode1 = append(onNode1, testkit.Obj(o))
		}
	}
	past := objs[len(objs)-1].RV
	slices.Sort(onNode1) // key order: ns0/... before ns1/...

	moved := e.update("ns0", "p04", "node-0")  // off node-1
	joined := e.update("ns0", "p02", "node-1") // onto node-1
	e.del("ns1", "p01")
	p12 := e.create("ns1", "p12", "node-1")
	later := p12
	for i := range 6 { // more checkpoints after the past RV
		later = e.update("ns1", "p05", fmt.Sprintf("node-%d", i%3))
	}
	e.waitRV(later.RV)
	p, err := api.ParsePredicate("", "spec.nodeName=node-1", testkit.Pods().SelectableFields)
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.c.List(ctx, api.ListOptions{Predicate: p, ResourceVersion: api.FormatRV(past), ResourceVersionMatch: api.MatchExact})
	if err != nil {
		t.Fatal(err)
	}
	if l.RV != past {
		t.Fatalf("exact list RV %d, want %d", l.RV, past)
	}
	testkit.Equal(t, "items at the past RV", names(l), onNode1)
	var paged []string
	for tok := ""; ; {
		pg, err := e.c.List(ctx, api.ListOptions{Predicate: p, Limit: 1, Continue: tok, ResourceVersion: rvIfFirst(tok, past)})
		if err != nil {
			t.Fatal(err)
		}
		if pg.RV != past {
			t.Fatalf("page RV %d, want %d", pg.RV, past)
		}
		paged = append(paged, names(pg)...)
		if tok = pg.Continue; tok == "" {
			break
		}
	}
	testkit.Equal(t, "pages at the past RV", paged, onNode1)
	now, err := e.c.List(ctx, api.ListOptions{Predicate: p})
	if err != nil {
		t.Fatal(err)
	}
	if now.RV < later.RV {
		t.Fatalf("latest list RV %d, want >= %d", now.RV, later.RV)
	}
	if moved.Field("spec.nodeName") != "node-0" {
		t.Fatalf("moved pod on %q", moved.Field("spec.nodeName"))
	}
	want := []string{testkit.Obj(joined), testkit.Obj(objs[10]), testkit.Obj(objs[7]), testkit.Obj(p12)}
	testkit.Equal(t, "items now", names(now), want)
}
