package conformance

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

func runPages(t *testing.T, f Factory) {
	runAll(t, f, []scenario{
		{"B14_ContinueFromOneState", pagesConsistent},
		{"B21_Limit", pagesLimit},
		{"B22_MalformedTokens", pagesMalformed},
		{"B23_ExpiredToken", pagesExpired},
		{"B140_KubeTokens", pagesKubeTokens},
	})
}

// B14: every page of one list shows the state at the first page's RV,
// whatever is written between pages.
func pagesConsistent(e *env) {
	var orig []*api.Object
	for i := range 7 {
		orig = append(orig, e.create("default", fmt.Sprintf("p%d", i), "n1", nil))
	}
	l := e.list(api.ListOptions{Limit: 3})
	rv := l.RV
	got := testkit.Objs(l.Items)
	for step := 0; l.Continue != ""; step++ {
		// Between pages: create a key on a later page, update and delete
		// keys not yet listed, recreate one.
		switch step {
		case 0:
			e.create("default", "p3a", "n1", nil)
			e.update("default", "p4", "n2", nil)
			e.del("default", "p5")
		case 1:
			e.create("default", "p9", "n1", nil)
			e.create("default", "p5", "n1", nil)
			e.del("default", "p6")
		}
		l = e.list(api.ListOptions{Limit: 3, Continue: l.Continue})
		if l.RV != rv {
			e.t.Fatalf("page %d: RV %d, want %d", step+2, l.RV, rv)
		}
		got = append(got, testkit.Objs(l.Items)...)
	}
	testkit.Equal(e.t, "all pages", got, testkit.Objs(orig))
}

// B21: at most limit items; continue while keys remain;
// remainingItemCount only without selectors.
func pagesLimit(e *env) {
	var all []string
	for i := range 5 {
		all = append(all, testkit.Obj(e.create("default", fmt.Sprintf("p%d", i), fmt.Sprintf("n%d", i%2), nil)))
	}
	for _, limit := range []int64{1, 2, 4, 5, 6} {
		var got []string
		opts := api.ListOptions{Limit: limit}
		for page := 0; ; page++ {
			l := e.list(opts)
			if int64(len(l.Items)) > limit {
				e.t.Fatalf("limit %d: %d items", limit, len(l.Items))
			}
			got = append(got, testkit.Objs(l.Items)...)
			left := int64(len(all) - len(got))
			switch {
			case left > 0 && (l.Continue == "" || l.RemainingItemCount == nil || *l.RemainingItemCount != left):
				e.t.Fatalf("limit %d page %d: continue %q remaining %v, want %d left", limit, page, l.Continue, l.RemainingItemCount, left)
			case left == 0 && (l.Continue != "" || l.RemainingItemCount != nil):
				e.t.Fatalf("limit %d last page: continue %q remaining %v", limit, l.Continue, l.RemainingItemCount)
			}
			if l.Continue == "" {
				break
			}
			opts.Continue = l.Continue
		}
		testkit.Equal(e.t, fmt.Sprintf("limit %d", limit), got, all)
	}
	// With a selector: pages hold only matches, continue is set while keys
	// remain after the last one examined, and no remainingItemCount.
	p := e.pred("!app", "")
	e.create("default", "p5", "n9", map[string]string{"app": "x"})
	l := e.list(api.ListOptions{Limit: 5, Predicate: p})
	testkit.Equal(e.t, "!app page 1", testkit.Objs(l.Items), all)
	if l.Continue == "" || l.RemainingItemCount != nil {
		e.t.Fatalf("!app page 1: continue %q remaining %v", l.Continue, l.RemainingItemCount)
	}
	l = e.list(api.ListOptions{Limit: 5, Predicate: p, Continue: l.Continue})
	if len(l.Items) != 0 || l.Continue != "" {
		e.t.Fatalf("!app page 2: %q continue %q", testkit.Objs(l.Items), l.Continue)
	}
	// A selector on an indexed field: the cache walks only the index, so
	// whether a last, empty page follows is not fixed (etcd examines every
	// key; the index does not); the pages together are.
	var got []string
	opts := api.ListOptions{Limit: 2, Predicate: e.pred("", "spec.nodeName=n1")}
	for {
		l := e.list(opts)
		got = append(got, testkit.Objs(l.Items)...)
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	testkit.Equal(e.t, "n1 pages", got, []string{all[1], all[3]})
}

// B22: a malformed token is 400 naming "continue".
func pagesMalformed(e *env) {
	e.create("default", "a", "n1", nil)
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tok := range []string{
		"%%%not-base64%%%",
		raw("not json"),
		raw(`{"v":"meta.k8s.io/v1","rv":0,"start":"default/a\u0000"}`),
		raw(`{"v":"meta.k8s.io/v1","rv":-2,"start":"default/a\u0000"}`),
		raw(`{"v":"meta.k8s.io/v1","rv":5,"start":""}`),
		raw(`{"v":"meta.k8s.io/v1","rv":5,"start":"../secrets/x"}`),
		raw(`{"v":"meta.k8s.io/v1","rv":5,"start":"default//a"}`),
		raw(`{"v":"meta.k8s.io/v2","rv":5,"start":"default/a\u0000"}`),
		raw(`{"rv":5,"start":"default/a\u0000"}`),
	} {
		_, err := e.Storage.List(e.ctx, api.ListOptions{Limit: 1, Continue: tok})
		ae := testkit.WantErr(e.t, err, api.ErrBadRequest, "continue", "")
		wantPrefix(e.t, ae.Message, "invalid continue token")
	}
}

// B23: a token whose revision is gone is 410 with a replacement token
// (rv -1, same start), which continues from the latest state.
func pagesExpired(e *env) {
	var orig []*api.Object
	for i := range 4 {
		orig = append(orig, e.create("default", fmt.Sprintf("p%d", i), "n1", nil))
	}
	l := e.list(api.ListOptions{Namespace: "default", Limit: 2})
	testkit.Equal(e.t, "page 1", testkit.Objs(l.Items), testkit.Objs(orig[:2]))
	_, start, err := api.DecodeContinue(l.Continue)
	if err != nil || start != "p1\x00" { // relative to the namespace's prefix
		e.t.Fatalf("token %q: start %q err %v; want start \"p1\\x00\"", l.Continue, start, err)
	}
	p3 := e.update("default", "p3", "n2", nil)
	e.forget()
	_, err = e.Storage.List(e.ctx, api.ListOptions{Namespace: "default", Limit: 2, Continue: l.Continue})
	ae := testkit.WantErr(e.t, err, api.ErrExpired, "", "")
	wantPrefix(e.t, ae.Message, "The provided continue parameter is too old")
	rv, start2, err := api.DecodeContinue(ae.Continue)
	if err != nil || rv != -1 || start2 != start {
		e.t.Fatalf("replacement token %q: rv %d start %q err %v; want rv -1 start %q", ae.Continue, rv, start2, err, start)
	}
	l = e.list(api.ListOptions{Namespace: "default", Limit: 2, Continue: ae.Continue})
	testkit.Equal(e.t, "page 2 from the latest state", testkit.Objs(l.Items), []string{testkit.Obj(orig[2]), testkit.Obj(p3)})
	if l.Continue != "" || l.RV < p3.RV {
		e.t.Fatalf("page 2: continue %q RV %d", l.Continue, l.RV)
	}
}
