package conformance

import (
	"encoding/base64"
	"fmt"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// kubeToken builds by hand the continue token kube-apiserver gives for a
// list at rv whose next page starts at start, relative to the list's own
// key prefix: unpadded base64url of its JSON, field by field.
func kubeToken(rv uint64, start string) string {
	js := fmt.Sprintf(`{"v":"meta.k8s.io/v1","rv":%d,"start":"%s\u0000"}`, rv, start)
	return base64.RawURLEncoding.EncodeToString([]byte(js))
}

// B140: tokens are byte-identical to kube-apiserver's for the same list
// state: a namespaced list's start is relative to the namespace's prefix
// ("bar\u0000"), an all-namespaces list's to the resource's
// ("second/bar\u0000"); and a token made by kube-apiserver, including one
// with a leading slash, continues here at the same key.
func pagesKubeTokens(e *env) {
	e.create("default", "p0", "n1", nil)
	p1 := e.create("default", "p1", "n1", nil)
	bar := e.create("second", "bar", "n1", nil)
	baz := e.create("second", "baz", "n1", nil)
	foo := e.create("second", "foo", "n1", nil)

	ns := e.list(api.ListOptions{Namespace: "second", Limit: 1})
	testkit.Equal(e.t, "namespaced page", testkit.Objs(ns.Items), []string{testkit.Obj(bar)})
	if want := kubeToken(ns.RV, "bar"); ns.Continue != want {
		e.t.Fatalf("namespaced token %q, want kube-apiserver's %q", ns.Continue, want)
	}
	all := e.list(api.ListOptions{Limit: 3})
	if want := kubeToken(all.RV, "second/bar"); all.Continue != want {
		e.t.Fatalf("cluster-wide token %q, want kube-apiserver's %q", all.Continue, want)
	}

	for _, c := range []struct {
		name string
		opts api.ListOptions
		want []*api.Object
		cont string
	}{
		{"namespaced", api.ListOptions{Namespace: "second", Continue: kubeToken(ns.RV, "bar")}, []*api.Object{baz, foo}, ""},
		{"leading slash", api.ListOptions{Namespace: "second", Continue: kubeToken(ns.RV, "/baz")}, []*api.Object{foo}, ""},
		{"cluster-wide", api.ListOptions{Continue: kubeToken(all.RV, "second/baz")}, []*api.Object{foo}, ""},
		{"cluster-wide from default", api.ListOptions{Limit: 2, Continue: kubeToken(all.RV, "default/p0")},
			[]*api.Object{p1, bar}, kubeToken(all.RV, "second/bar")},
	} {
		l := e.list(c.opts)
		testkit.Equal(e.t, c.name, testkit.Objs(l.Items), testkit.Objs(c.want))
		if l.Continue != c.cont || l.RV != ns.RV {
			e.t.Fatalf("%s: continue %q RV %d, want %q at %d", c.name, l.Continue, l.RV, c.cont, ns.RV)
		}
	}
}
