package conformance

import (
	"fmt"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

func runList(t *testing.T, f Factory) {
	runAll(t, f, []scenario{
		{"B10_ConsistentList", listConsistent},
		{"B11_LimitAtResourceVersionZero", listZeroLimit},
		{"B12_NotOlderThan", listNotOlderThan},
		{"B13_ExactList", listExact},
		{"B13_ExactCompacted", listExactCompacted},
		{"B16_InvalidOptions", listInvalid},
		{"B20_SortedAndNeverNull", listSorted},
		{"B24_Selectors", listSelectors},
		{"B24_BadSelectors", listBadSelectors},
		{"B26_NamespacesDoNotLeak", listNamespaces},
	})
}

// B10: RV "" sees every finished write, also one behind the storage's
// back; the list RV is etcd's revision when nothing else writes.
func listConsistent(e *env) {
	a := e.create("default", "a", "n1", nil)
	resp, err := e.Etcd.Put(e.ctx, e.res.Key(e.Prefix, "default", "b"), string(pod("default", "b", "n1", nil, 0)))
	if err != nil {
		e.t.Fatal(err)
	}
	rev := uint64(resp.Header.Revision)
	l := e.list(api.ListOptions{})
	testkit.Equal(e.t, "items", testkit.Objs(l.Items), []string{testkit.Obj(a), fmt.Sprintf("default/b@%d", rev)})
	if l.RV != rev || l.Continue != "" || l.RemainingItemCount != nil {
		e.t.Fatalf("list RV %d continue %q remaining %v; want RV %d, no continue", l.RV, l.Continue, l.RemainingItemCount, rev)
	}
}

// B11: RV "0" with a limit pages too (our divergence for the cache; etcd
// honours it anyway), from one state.
func listZeroLimit(e *env) {
	a := e.create("default", "a", "n1", nil)
	b := e.create("default", "b", "n1", nil)
	c := e.create("default", "c", "n1", nil)
	rev := e.sync()
	l := e.list(api.ListOptions{ResourceVersion: "0", Limit: 2})
	testkit.Equal(e.t, "page 1", testkit.Objs(l.Items), []string{testkit.Obj(a), testkit.Obj(b)})
	if l.RV != rev || l.Continue == "" || l.RemainingItemCount == nil || *l.RemainingItemCount != 1 {
		e.t.Fatalf("list RV %d (want %d) continue %q remaining %v", l.RV, rev, l.Continue, l.RemainingItemCount)
	}
	e.update("default", "c", "n2", nil)
	l = e.list(api.ListOptions{ResourceVersion: "0", Limit: 2, Continue: l.Continue})
	testkit.Equal(e.t, "page 2", testkit.Objs(l.Items), []string{testkit.Obj(c)})
	if l.RV != rev || l.Continue != "" {
		e.t.Fatalf("page 2 RV %d (want %d) continue %q", l.RV, rev, l.Continue)
	}
}

// B12: RV n (NotOlderThan, no limit) lists the latest state.
func listNotOlderThan(e *env) {
	a := e.create("default", "a", "n1", nil)
	a2 := e.update("default", "a", "n2", nil)
	b := e.create("default", "b", "n1", nil)
	rev := e.sync()
	for _, o := range []api.ListOptions{
		{ResourceVersion: rvs(a.RV)},
		{ResourceVersion: rvs(a.RV), ResourceVersionMatch: api.MatchNotOlderThan},
		{ResourceVersion: rvs(rev), ResourceVersionMatch: api.MatchNotOlderThan},
	} {
		l := e.list(o)
		testkit.Equal(e.t, fmt.Sprintf("%+v", o), testkit.Objs(l.Items), []string{testkit.Obj(a2), testkit.Obj(b)})
		if l.RV != rev {
			e.t.Fatalf("%+v: list RV %d, want %d", o, l.RV, rev)
		}
	}
	_, err := e.Storage.List(e.ctx, api.ListOptions{ResourceVersion: rvs(rev + 50)})
	ae := testkit.WantErr(e.t, err, api.ErrTooLargeRV, "", fmt.Sprintf("Too large resource version: %d, current: %d", rev+50, rev))
	if ae.Cause != "ResourceVersionTooLarge" {
		e.t.Fatalf("cause %q", ae.Cause)
	}
}

// B13: RVM=Exact (or a limit with RV n) shows the state exactly at n, and
// the list's RV is n.
func listExact(e *env) {
	a := e.create("default", "a", "n1", nil)
	b := e.create("default", "b", "n1", nil)
	a2 := e.update("default", "a", "n2", nil)
	bd := e.del("default", "b")
	c := e.create("default", "c", "n1", nil)
	e.Sync(e.t, c.RV)
	states := []struct {
		rv   uint64
		want []string
	}{
		{a.RV, []string{testkit.Obj(a)}},
		{b.RV, []string{testkit.Obj(a), testkit.Obj(b)}},
		{a2.RV, []string{testkit.Obj(a2), testkit.Obj(b)}},
		{bd.RV, []string{testkit.Obj(a2)}},
		{c.RV, []string{testkit.Obj(a2), testkit.Obj(c)}},
	}
	for _, s := range states {
		l := e.list(api.ListOptions{ResourceVersion: rvs(s.rv), ResourceVersionMatch: api.MatchExact})
		testkit.Equal(e.t, fmt.Sprintf("exact at %d", s.rv), testkit.Objs(l.Items), s.want)
		if l.RV != s.rv {
			e.t.Fatalf("exact at %d: list RV %d", s.rv, l.RV)
		}
		l = e.list(api.ListOptions{ResourceVersion: rvs(s.rv), Limit: 10})
		testkit.Equal(e.t, fmt.Sprintf("limit at %d", s.rv), testkit.Objs(l.Items), s.want)
		if l.RV != s.rv || l.Continue != "" {
			e.t.Fatalf("limit at %d: list RV %d continue %q", s.rv, l.RV, l.Continue)
		}
	}
	// Page 1 of an exact list at a past RV continues at that RV.
	l := e.list(api.ListOptions{ResourceVersion: rvs(a2.RV), Limit: 1})
	testkit.Equal(e.t, "exact page 1", testkit.Objs(l.Items), []string{testkit.Obj(a2)})
	l = e.list(api.ListOptions{Limit: 1, Continue: l.Continue})
	testkit.Equal(e.t, "exact page 2", testkit.Objs(l.Items), []string{testkit.Obj(b)})
	if l.RV != a2.RV || l.Continue != "" {
		e.t.Fatalf("exact page 2: RV %d continue %q", l.RV, l.Continue)
	}
}

// B13: an exact list at a revision nobody holds any more is 410.
func listExactCompacted(e *env) {
	a := e.create("default", "a", "n1", nil)
	e.forget()
	_, err := e.Storage.List(e.ctx, api.ListOptions{ResourceVersion: rvs(a.RV), ResourceVersionMatch: api.MatchExact})
	testkit.WantErr(e.t, err, api.ErrExpired, "", "The resourceVersion for the provided list is too old.")
}

// B16: invalid option combinations, with the code and field
// kube-apiserver's validation gives.
func listInvalid(e *env) {
	e.create("default", "a", "n1", nil)
	tok := api.EncodeContinue(1, "default/a\x00")
	cases := []struct {
		opts     api.ListOptions
		sentinel error
		field    string
		msg      string
	}{
		{api.ListOptions{ResourceVersionMatch: api.MatchExact}, api.ErrInvalid, "resourceVersionMatch",
			"resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"},
		{api.ListOptions{ResourceVersionMatch: api.MatchNotOlderThan}, api.ErrInvalid, "resourceVersionMatch", ""},
		{api.ListOptions{ResourceVersion: "0", ResourceVersionMatch: api.MatchExact}, api.ErrInvalid, "resourceVersionMatch",
			`resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"`},
		{api.ListOptions{ResourceVersion: "1", ResourceVersionMatch: "Newest"}, api.ErrInvalid, "resourceVersionMatch",
			`resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan"`},
		{api.ListOptions{SendInitialEvents: ptr(true)}, api.ErrInvalid, "sendInitialEvents",
			"sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"},
		{api.ListOptions{SendInitialEvents: ptr(false), ResourceVersion: "0"}, api.ErrInvalid, "sendInitialEvents", ""},
		{api.ListOptions{ResourceVersion: "5", Continue: tok}, api.ErrBadRequest, "resourceVersion",
			"specifying resource version is not allowed when using continue"},
		{api.ListOptions{ResourceVersion: "5", ResourceVersionMatch: api.MatchExact, Continue: tok}, api.ErrInvalid, "resourceVersionMatch", ""},
		{api.ListOptions{Limit: -1}, api.ErrBadRequest, "limit", ""},
		{api.ListOptions{ResourceVersion: "x"}, api.ErrBadRequest, "resourceVersion", ""},
	}
	for _, c := range cases {
		_, err := e.Storage.List(e.ctx, c.opts)
		testkit.WantErr(e.t, err, c.sentinel, c.field, c.msg)
	}
}

// B20: items in key order (namespace, then name), [] when empty, RV set.
func listSorted(e *env) {
	l := e.list(api.ListOptions{})
	if l.Items == nil || len(l.Items) != 0 || l.RV == 0 {
		e.t.Fatalf("empty list: items %#v RV %d", l.Items, l.RV)
	}
	var want []string
	for _, k := range [][2]string{{"b", "z"}, {"a", "b"}, {"b", "a"}, {"a", "a"}, {"a", "a-1"}} {
		e.create(k[0], k[1], "n1", nil)
	}
	e.sync()
	for _, o := range e.list(api.ListOptions{}).Items {
		want = append(want, o.Namespace+"/"+o.Name)
	}
	testkit.Equal(e.t, "order", want, []string{"a/a", "a/a-1", "a/b", "b/a", "b/z"})
	for _, rv := range []string{"0", rvs(e.rev())} {
		got := e.list(api.ListOptions{ResourceVersion: rv})
		if fmt.Sprint(testkit.Objs(got.Items)) != fmt.Sprint(testkit.Objs(e.list(api.ListOptions{}).Items)) {
			e.t.Fatalf("RV %q: items differ from the consistent list", rv)
		}
	}
	empty := e.list(api.ListOptions{Namespace: "none"})
	if empty.Items == nil || len(empty.Items) != 0 || empty.RV == 0 {
		e.t.Fatalf("empty namespace: items %#v RV %d", empty.Items, empty.RV)
	}
}

// B24: label and field selectors, =, ==, != and set forms.
func listSelectors(e *env) {
	a := e.create("ns1", "a", "n1", map[string]string{"app": "web", "tier": "front"})
	b := e.create("ns1", "b", "n2", map[string]string{"app": "db"})
	c := e.create("ns2", "c", "n1", nil)
	d := e.create("ns2", "d", "n3", map[string]string{"app": "web"})
	cases := []struct{ label, field string }{
		{"app=web", ""}, {"app==web", ""}, {"app!=web", ""}, {"app in (db,web)", ""}, {"!app", ""},
		{"app", ""}, {"app=web,tier=front", ""},
		{"", "spec.nodeName=n1"}, {"", "spec.nodeName==n1"}, {"", "spec.nodeName!=n1"},
		{"", "metadata.name=b"}, {"", "metadata.namespace=ns2"}, {"", "metadata.namespace!=ns2"},
		{"app=web", "spec.nodeName=n1"}, {"app=web", "spec.nodeName!=n1"}, {"", "spec.nodeName=none"},
	}
	wants := [][]string{
		{testkit.Obj(a), testkit.Obj(d)}, {testkit.Obj(a), testkit.Obj(d)}, {testkit.Obj(b), testkit.Obj(c)}, {testkit.Obj(a), testkit.Obj(b), testkit.Obj(d)}, {testkit.Obj(c)},
		{testkit.Obj(a), testkit.Obj(b), testkit.Obj(d)}, {testkit.Obj(a)},
		{testkit.Obj(a), testkit.Obj(c)}, {testkit.Obj(a), testkit.Obj(c)}, {testkit.Obj(b), testkit.Obj(d)},
		{testkit.Obj(b)}, {testkit.Obj(c), testkit.Obj(d)}, {testkit.Obj(a), testkit.Obj(b)},
		{testkit.Obj(a)}, {testkit.Obj(d)}, {},
	}
	for i, c := range cases {
		p := e.pred(c.label, c.field)
		l := e.list(api.ListOptions{Predicate: p})
		testkit.Equal(e.t, fmt.Sprintf("%q %q", c.label, c.field), testkit.Objs(l.Items), wants[i])
		// The same through a page of one, to the end.
		var paged []string
		opts := api.ListOptions{Predicate: p, Limit: 1}
		for {
			l := e.list(opts)
			paged = append(paged, testkit.Objs(l.Items)...)
			if l.RemainingItemCount != nil {
				e.t.Fatalf("%q %q: remainingItemCount with a selector", c.label, c.field)
			}
			if l.Continue == "" {
				break
			}
			opts.Continue = l.Continue
		}
		testkit.Equal(e.t, fmt.Sprintf("paged %q %q", c.label, c.field), append([]string{}, paged...), wants[i])
	}
}

// B24: bad syntax or an unsupported field is 400 (from api.ParsePredicate,
// the one parser both storages' callers use).
func listBadSelectors(e *env) {
	for _, c := range []struct{ label, field, param string }{
		{"app in (", "", "labelSelector"},
		{"a b c", "", "labelSelector"},
		{"", "spec.foo=x", "fieldSelector"},
		{"", "status.phase=Running", "fieldSelector"},
		{"", "spec.nodeName", "fieldSelector"},
	} {
		_, err := api.ParsePredicate(c.label, c.field, e.res.SelectableFields)
		testkit.WantErr(e.t, err, api.ErrBadRequest, c.param, "")
	}
	_, err := api.ParsePredicate("", "spec.foo=x", e.res.SelectableFields)
	testkit.WantErr(e.t, err, api.ErrBadRequest, "fieldSelector", "field label not supported: spec.foo")
}

// B26: a namespaced list never shows another namespace (ns1 is not a
// prefix match for ns10); a cluster-wide one shows all.
func listNamespaces(e *env) {
	a := e.create("ns1", "a", "n1", nil)
	b := e.create("ns10", "b", "n1", nil)
	c := e.create("ns1-x", "c", "n1", nil)
	d := e.create("ns", "d", "n1", nil)
	rev := e.sync()
	for _, rv := range []string{"", "0", rvs(rev)} {
		testkit.Equal(e.t, "ns1", testkit.Objs(e.list(api.ListOptions{Namespace: "ns1", ResourceVersion: rv}).Items), []string{testkit.Obj(a)})
		testkit.Equal(e.t, "ns10", testkit.Objs(e.list(api.ListOptions{Namespace: "ns10", ResourceVersion: rv}).Items), []string{testkit.Obj(b)})
		testkit.Equal(e.t, "ns", testkit.Objs(e.list(api.ListOptions{Namespace: "ns", ResourceVersion: rv}).Items), []string{testkit.Obj(d)})
		testkit.Equal(e.t, "all", testkit.Objs(e.list(api.ListOptions{ResourceVersion: rv}).Items), []string{testkit.Obj(d), testkit.Obj(c), testkit.Obj(a), testkit.Obj(b)}) // key order: "ns/" < "ns1-" < "ns1/" < "ns10"
	}
	l := e.list(api.ListOptions{Namespace: "ns1", Limit: 1})
	if l.Continue != "" || len(l.Items) != 1 {
		e.t.Fatalf("ns1 with limit 1: %q continue %q", testkit.Objs(l.Items), l.Continue)
	}
}
