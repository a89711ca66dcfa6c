package etcdstore_test

import (
	"slices"
	"testing"

	"github.com/watchcached/watchcached/api"
)

func TestGet_ConsistentAndNotFound_B1_B5(t *testing.T) {
	e := newEnv(t, nil)
	created := e.create("ns1", "p1", "n1", nil)
	e.create("ns1", "other", "n1", nil) // moves the revision past p1's
	cur := e.rev()

	for _, rv := range []string{"", "0", api.FormatRV(created.RV), api.FormatRV(cur)} {
		got, err := e.s.Get(e.ctx, "ns1", "p1", api.GetOptions{ResourceVersion: rv})
		if err != nil {
			t.Fatalf("RV %q: %v", rv, err)
		}
		if got.RV != created.RV || string(got.Raw) != string(created.Raw) {
			t.Fatalf("RV %q: got %s, want %s", rv, got.Raw, created.Raw)
		}
	}
	// B4 for direct etcd: a revision etcd has not reached.
	_, err := e.s.Get(e.ctx, "ns1", "p1", api.GetOptions{ResourceVersion: api.FormatRV(cur + 5)})
	ae := wantErr(t, err, api.ErrTooLargeRV)
	if ae.Cause != "ResourceVersionTooLarge" || ae.RetryAfterSeconds != 1 ||
		ae.Message != "Too large resource version: "+api.FormatRV(cur+5)+", current: "+api.FormatRV(cur) {
		t.Fatalf("too large: %+v", ae)
	}
	_, err = e.s.Get(e.ctx, "ns1", "missing", api.GetOptions{})
	if ae := wantErr(t, err, api.ErrNotFound); ae.Message != `pods "missing" not found` {
		t.Fatalf("not found message %q", ae.Message)
	}
	_, err = e.s.Get(e.ctx, "ns2", "p1", api.GetOptions{})
	wantErr(t, err, api.ErrNotFound)
	// B6 and name validation.
	_, err = e.s.Get(e.ctx, "ns1", "p1", api.GetOptions{ResourceVersion: "x"})
	wantErr(t, err, api.ErrBadRequest)
	_, err = e.s.Get(e.ctx, "ns1", "../p1", api.GetOptions{})
	wantErr(t, err, api.ErrBadRequest)
}

// B62: an undecodable value is a 500 naming the key for Get, absent from
// List, and reported on every read but logged once.
func TestRead_B62_UndecodableSkipped(t *testing.T) {
	e := newEnv(t, nil)
	e.create("ns1", "a", "", nil)
	bad := "/registry/pods/ns1/b"
	badRev := e.put(bad, "not json")
	e.put("/registry/pods/ns1/c", `{"metadata":{"name":"other","namespace":"ns1"}}`)
	e.create("ns1", "d", "", nil)

	_, err := e.s.Get(e.ctx, "ns1", "b", api.GetOptions{})
	if ae := wantErr(t, err, api.ErrCorrupt); ae.Message != corruptMsg(bad, badRev, "not JSON: invalid JSON") {
		t.Fatalf("message %q", ae.Message)
	}
	l, err := e.s.List(e.ctx, api.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(l.Items); !slices.Equal(got, []string{"ns1/a", "ns1/d"}) {
		t.Fatalf("list %v", got)
	}
	if n := e.errs.count(bad); n != 2 {
		t.Fatalf("OnDecodeError called %d times for %s, want 2", n, bad)
	}
	if n := e.errs.count("/registry/pods/ns1/c"); n != 1 {
		t.Fatalf("OnDecodeError for the mismatched name: %d", n)
	}
	objs, rev, err := e.s.ListAll(e.ctx, 1)
	if err != nil || rev != e.rev() || !slices.Equal(names(objs), []string{"ns1/a", "ns1/d"}) {
		t.Fatalf("ListAll: %v %d %v", names(objs), rev, err)
	}
}

// B20, B26: key order, namespace scoping, items never nil, RV set.
func TestList_B20_B26_OrderAndNamespaces(t *testing.T) {
	e := newEnv(t, nil)
	l, err := e.s.List(e.ctx, api.ListOptions{Namespace: "ns1"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Items == nil || len(l.Items) != 0 || l.RV == 0 || l.Continue != "" {
		t.Fatalf("empty list %+v", l)
	}
	for _, p := range [][2]string{{"ns10", "a"}, {"ns1", "z"}, {"ns1", "b"}, {"ns2", "a"}} {
		e.create(p[0], p[1], "", nil)
	}
	cur := e.rev()
	l, err = e.s.List(e.ctx, api.ListOptions{Namespace: "ns1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(l.Items); !slices.Equal(got, []string{"ns1/b", "ns1/z"}) || l.RV != cur {
		t.Fatalf("ns1: %v at %d (current %d)", got, l.RV, cur)
	}
	l, err = e.s.List(e.ctx, api.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(l.Items); !slices.Equal(got, []string{"ns1/b", "ns1/z", "ns10/a", "ns2/a"}) || l.RV != cur {
		t.Fatalf("all: %v at %d", got, l.RV)
	}
}

// B13, B12: exact revisions, not-older-than, and their errors.
func TestList_B12_B13_ResourceVersions(t *testing.T) {
	e := newEnv(t, nil)
	a := e.create("ns", "a", "", nil)
	b := e.create("ns", "b", "", nil)
	if _, err := e.s.Delete(e.ctx, "ns", "a", api.Preconditions{}); err != nil {
		t.Fatal(err)
	}
	cur := e.rev()
	list := func(o api.ListOptions) *api.List {
		t.Helper()
		l, err := e.s.List(e.ctx, o)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		return l
	}
	at := func(rv uint64) string { return api.FormatRV(rv) }
	l := list(api.ListOptions{ResourceVersion: at(a.RV), ResourceVersionMatch: api.MatchExact})
	if !slices.Equal(names(l.Items), []string{"ns/a"}) || l.RV != a.RV {
		t.Fatalf("exact at %d: %v at %d", a.RV, names(l.Items), l.RV)
	}
	l = list(api.ListOptions{ResourceVersion: at(b.RV), Limit: 10})
	if !slices.Equal(names(l.Items), []string{"ns/a", "ns/b"}) || l.RV != b.RV {
		t.Fatalf("limit at %d: %v at %d", b.RV, names(l.Items), l.RV)
	}
	l = list(api.ListOptions{ResourceVersion: at(a.RV), ResourceVersionMatch: api.MatchNotOlderThan})
	if !slices.Equal(names(l.Items), []string{"ns/b"}) || l.RV != cur {
		t.Fatalf("not older than: %v at %d", names(l.Items), l.RV)
	}
	l = list(api.ListOptions{ResourceVersion: at(a.RV)}) // no limit: latest
	if l.RV != cur {
		t.Fatalf("RV=n without limit read at %d, want %d", l.RV, cur)
	}
	_, err := e.s.List(e.ctx, api.ListOptions{ResourceVersion: at(cur + 3), ResourceVersionMatch: api.MatchNotOlderThan})
	if ae := wantErr(t, err, api.ErrTooLargeRV); ae.Message != "Too large resource version: "+at(cur+3)+", current: "+at(cur) {
		t.Fatalf("message %q", ae.Message)
	}
	_, err = e.s.List(e.ctx, api.ListOptions{ResourceVersion: at(cur + 3), ResourceVersionMatch: api.MatchExact})
	wantErr(t, err, api.ErrTooLargeRV)
	// B16: option validation comes first.
	_, err = e.s.List(e.ctx, api.ListOptions{ResourceVersionMatch: api.MatchExact})
	wantErr(t, err, api.ErrInvalid)

	if err := e.s.Compact(e.ctx, cur); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.List(e.ctx, api.ListOptions{ResourceVersion: at(a.RV), ResourceVersionMatch: api.MatchExact})
	if ae := wantErr(t, err, api.ErrExpired); ae.Message != "The resourceVersion for the provided list is too old." {
		t.Fatalf("message %q", ae.Message)
	}
}

// B21, B22: limit with selectors across many pages; continue tokens;
// remainingItemCount only without selectors.
func TestList_B21_B22_PagesWithSelectors(t *testing.T) {
	e := newEnv(t, nil)
	var want []string
	for i := range 40 {
		node := "odd"
		if i%4 == 0 {
			node = "even"
		}
		name := string(rune('a'+i/26)) + string(rune('a'+i%26))
		e.create("ns", name, node, map[string]string{"n": node})
		if node == "even" {
			want = append(want, "ns/"+name)
		}
	}
	e.create("ns2", "an", "", nil)
	e.create("ns2", "ap", "", nil)
	cur := e.rev()
	pred, err := api.ParsePredicate("", "spec.nodeName=even", []string{"spec.nodeName"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	opts := api.ListOptions{Namespace: "ns", Limit: 3, Predicate: pred, ResourceVersion: "0"}
	pages := 0
	for {
		l, err := e.s.List(e.ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if pages == 1 {
			e.create("ns", "zz-after", "even", nil) // not in later pages: they read at cur
		}
		if l.RV != cur || l.RemainingItemCount != nil || len(l.Items) > 3 {
			t.Fatalf("page %d: RV %d (want %d), remaining %v, %d items", pages, l.RV, cur, l.RemainingItemCount, len(l.Items))
		}
		got = append(got, names(l.Items)...)
		if l.Continue == "" {
			break
		}
		opts = api.ListOptions{Namespace: "ns", Limit: 3, Predicate: pred, Continue: l.Continue}
	}
	if !slices.Equal(got, want) || pages != 4 {
		t.Fatalf("got %v in %d pages, want %v in 4", got, pages, want)
	}

	// Without selectors: remainingItemCount and the token's shape.
	l, err := e.s.List(e.ctx, api.ListOptions{Namespace: "ns", Limit: 15})
	if err != nil {
		t.Fatal(err)
	}
	if l.RemainingItemCount == nil || *l.RemainingItemCount != 26 || len(l.Items) != 15 {
		t.Fatalf("remaining %v, %d items", l.RemainingItemCount, len(l.Items))
	}
	rv, start, err := api.DecodeContinue(l.Continue)
	if err != nil || uint64(rv) != l.RV || start != "ao\x00" {
		t.Fatalf("token rv %d start %q: %v", rv, start, err)
	}
	// The start is relative to the list's prefix, as kube-apiserver has it:
	// a token of ns used on a list of ns2 continues in ns2 after "ao".
	l2, err := e.s.List(e.ctx, api.ListOptions{Namespace: "ns2", Continue: l.Continue})
	if err != nil || !slices.Equal(names(l2.Items), []string{"ns2/ap"}) || l2.RV != l.RV {
		t.Fatalf("ns2 from the ns token: %v at %v: %v", l2, l.RV, err)
	}
	_, err = e.s.List(e.ctx, api.ListOptions{Continue: "!!"})
	wantErr(t, err, api.ErrBadRequest)
}

// B23: a compacted token gives 410 with a replacement token that continues
// from the latest state at the same key.
func TestList_B23_CompactedContinue(t *testing.T) {
	e := newEnv(t, nil)
	for _, n := range []string{"a", "b", "c", "d"} {
		e.create("ns", n, "", nil)
	}
	l, err := e.s.List(e.ctx, api.ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Delete(e.ctx, "ns", "c", api.Preconditions{}); err != nil {
		t.Fatal(err)
	}
	e.create("ns", "e", "", nil)
	cur := e.rev()
	if err := e.s.Compact(e.ctx, cur); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.List(e.ctx, api.ListOptions{Limit: 2, Continue: l.Continue})
	ae := wantErr(t, err, api.ErrExpired)
	rv, start, derr := api.DecodeContinue(ae.Continue)
	if derr != nil || rv != -1 || start != "ns/b\x00" {
		t.Fatalf("replacement token rv %d start %q: %v", rv, start, derr)
	}
	l, err = e.s.List(e.ctx, api.ListOptions{Limit: 5, Continue: ae.Continue})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(l.Items), []string{"ns/d", "ns/e"}) || l.RV != cur || l.Continue != "" {
		t.Fatalf("continued: %v at %d (want %d), continue %q", names(l.Items), l.RV, cur, l.Continue)
	}
}

// B60: ListAll reads every page at the first page's revision.
func TestListAll_OneRevisionAcrossPages(t *testing.T) {
	e := newEnv(t, nil)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		e.create("ns", n, "", nil)
	}
	e.put("/registry/configmaps/ns/x", `{}`) // another resource: not listed
	cur := e.rev()
	objs, rev, err := e.s.ListAll(e.ctx, 2)
	if err != nil || rev != cur || len(objs) != 5 {
		t.Fatalf("ListAll: %d objects at %d (want %d): %v", len(objs), rev, cur, err)
	}
	for i, o := range objs {
		if want := "ns/" + string(rune('a'+i)); o.Namespace+"/"+o.Name != want {
			t.Fatalf("item %d is %s/%s", i, o.Namespace, o.Name)
		}
	}
}
