package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/watchcached/watchcached/cmd/watchcached/app"
)

// A CRD as kube-apiserver stores it: JSON (with the encoder's newline) at
// /registry/apiextensions.k8s.io/customresourcedefinitions/<name>, its
// status written by the apiextensions controllers.
const (
	gadgetsCRDKey = "/registry/apiextensions.k8s.io/customresourcedefinitions/gadgets.example.org"
	gadgetsCRDFmt = `{"kind":"CustomResourceDefinition","apiVersion":"apiextensions.k8s.io/v1","metadata":{"name":"gadgets.example.org",` +
		`"uid":"3c1d3b0e-1f7a-4b8e-9a57-2f1e0c7e0a11","generation":1,"creationTimestamp":"2026-12-01T10:00:00Z"},` +
		`"spec":{"group":"example.org","names":{"plural":"gadgets","singular":"gadget","shortNames":["gd"],"kind":"Gadget","listKind":"GadgetList","categories":["all"]},` +
		`"scope":"Namespaced","versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}},` +
		`"selectableFields":[{"jsonPath":".spec.color"}]},{"name":"v1beta1","served":false,"storage":false,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}},` +
		`{"name":"v1alpha1","served":true,"storage":false,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}],` +
		`"conversion":{"strategy":"None"}},` +
		`"status":{"conditions":[{"type":"NamesAccepted","status":"True","lastTransitionTime":"2026-12-01T10:00:00Z","reason":"NoConflicts","message":"no conflicts found"},` +
		`{"type":"Established","status":"%s","lastTransitionTime":"2026-12-01T10:00:00Z","reason":"InitialNamesAccepted","message":"the initial names have been accepted"}],` +
		`"acceptedNames":{"plural":"gadgets","singular":"gadget","shortNames":["gd"],"kind":"Gadget","listKind":"GadgetList","categories":["all"]},"storedVersions":["v1"]}}` + "\n"
)

var gadgetsGVR = schema.GroupVersionResource{Group: "example.org", Version: "v1", Resource: "gadgets"}

// gadget is a custom object as kube-apiserver stores it (JSON, no
// resourceVersion) at /registry/example.org/gadgets/<ns>/<name>.
func gadget(name, color string) (key, value string) {
	return "/registry/example.org/gadgets/default/" + name,
		`{"apiVersion":"example.org/v1","kind":"Gadget","metadata":{"name":"` + name + `","namespace":"default",` +
			`"uid":"uid-` + name + `","generation":1,"creationTimestamp":"2026-12-01T10:00:00Z"},"spec":{"color":"` + color + `"}}` + "\n"
}

// crdFollowDeadline is how soon discovery and serving follow a CRD's
// change (B190).
const crdFollowDeadline = time.Second

// TestB190_CRDsServedWithoutConfiguration: with --resources kube, a CRD
// written into etcd at run time is served once it is Established (not
// before), with its names in discovery, its objects listed and watched by
// client-go's dynamic client and selected by its selectableFields; once
// the CRD is deleted its paths answer 404 and a watch open on it ends
// cleanly, each within crdFollowDeadline. A second served version serves
// the same objects under its own apiVersion (B192).
func TestB190_CRDsServedWithoutConfiguration(t *testing.T) {
	e := startEnv(t, func(c *app.Config) { c.Resources, c.ResourcesFile = nil, "kube" })
	closeIdleOnCleanup(t)
	put := func(key, value string) {
		t.Helper()
		if _, err := e.etcd.Put(t.Context(), key, value); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"red", "blue"} {
		put(gadget("g-"+c, c))
	}
	const list = "/apis/example.org/v1/namespaces/default/gadgets"
	notFound := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404}` + "\n"
	put(gadgetsCRDKey, strings.Replace(gadgetsCRDFmt, "%s", "False", 1))
	// The CRD's own list shows it at once; its resource is not served.
	waitFor(t, "the CRD listed", func() bool {
		_, _, body := e.do(t, http.MethodGet, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "")
		return strings.Contains(body, `"name":"gadgets.example.org"`)
	}, func() string { return "" })
	if code, _, body := e.do(t, http.MethodGet, list, ""); code != 404 || body != notFound {
		t.Errorf("before Established: %d %s", code, body)
	}

	put(gadgetsCRDKey, strings.Replace(gadgetsCRDFmt, "%s", "True", 1))
	followed(t, "discovery and serving of gadgets", func() bool {
		code, _, _ := e.do(t, http.MethodGet, list, "")
		return code == 200
	})
	_, _, disc := e.do(t, http.MethodGet, "/apis/example.org/v1", "")
	if want := `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"example.org/v1","resources":[{"name":"gadgets","singularName":"gadget","namespaced":true,` +
		`"kind":"Gadget","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["gd"],"categories":["all"]}]}` + "\n"; disc != want {
		t.Errorf("discovery:\n got %s\nwant %s", disc, want)
	}
	if code, _, _ := e.do(t, http.MethodGet, "/apis/example.org/v1beta1/namespaces/default/gadgets", ""); code != 404 {
		t.Errorf("a version not served: %d", code)
	}
	// B192: another served version serves the objects (stored at v1) with
	// its own apiVersion, as kube-apiserver's conversion None does.
	if code, _, body := e.do(t, http.MethodGet, "/apis/example.org/v1alpha1/namespaces/default/gadgets/g-red", ""); code != 200 ||
		!strings.HasPrefix(body, `{"apiVersion":"example.org/v1alpha1","kind":"Gadget","metadata":{"resourceVersion":"`) {
		t.Errorf("v1alpha1: %d %s", code, body)
	}

	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	items, err := e.dyn.Resource(gadgetsGVR).Namespace("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(items.Items); got != "g-blue,g-red" || items.GetKind() != "GadgetList" {
		t.Errorf("list: %s of kind %q", got, items.GetKind())
	}
	red, err := e.dyn.Resource(gadgetsGVR).Namespace("default").List(ctx, metav1.ListOptions{FieldSelector: "spec.color=red"})
	if err != nil || names(red.Items) != "g-red" {
		t.Errorf("spec.color=red: %v %v", red, err)
	}
	code, _, body := e.do(t, http.MethodGet, list+"?fieldSelector=spec.size%3D1", "")
	if want := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"field label not supported: spec.size","reason":"BadRequest","code":400}` + "\n"; code != 400 || body != want {
		t.Errorf("unsupported field: %d %s", code, body)
	}

	w, err := e.dyn.Resource(gadgetsGVR).Namespace("default").Watch(ctx, metav1.ListOptions{ResourceVersion: items.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	put(gadget("g-green", "green"))
	if ev := <-w.ResultChan(); ev.Type != watch.Added || nameOf(ev.Object) != "g-green" {
		t.Fatalf("watch: %v %v", ev.Type, ev.Object)
	}

	if _, err := e.etcd.Delete(t.Context(), gadgetsCRDKey); err != nil {
		t.Fatal(err)
	}
	followed(t, "the end of gadgets", func() bool {
		code, _, body := e.do(t, http.MethodGet, list, "")
		return code == 404 && body == notFound
	})
	ended := time.After(crdFollowDeadline)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				goto done
			}
			t.Fatalf("after the CRD's deletion the watch sent %v %v", ev.Type, ev.Object)
		case <-ended:
			t.Fatal("the watch of a deleted CRD's resource did not end")
		}
	}
done:
	_, _, groups := e.do(t, http.MethodGet, "/apis", "")
	if strings.Contains(groups, "example.org") {
		t.Errorf("/apis still names example.org: %s", groups)
	}
}

// followed waits until cond holds, failing when that takes longer than
// crdFollowDeadline.
func followed(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(crdFollowDeadline)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, crdFollowDeadline)
		}
		<-tick.C
	}
	t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
}

// names joins the names of items with commas, in their order.
func names(items []unstructured.Unstructured) string {
	var out []string
	for _, it := range items {
		out = append(out, it.GetName())
	}
	return strings.Join(out, ",")
}

// nameOf is the name of an object of a dynamic watch ("" for another type).
func nameOf(obj runtime.Object) string {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u.GetName()
	}
	return ""
}

// TestB190_KubectlCustomResourceNames: kubectl finds a CRD's resource,
// written into etcd at run time, by its short name and its category, and
// filters it by a selectable field.
func TestB190_KubectlCustomResourceNames(t *testing.T) {
	e := startEnv(t, func(c *app.Config) { c.Resources, c.ResourcesFile = nil, "kube" })
	closeIdleOnCleanup(t)
	k := newKubectl(t, e.url)
	for _, kv := range [][2]string{
		{gadgetsCRDKey, strings.Replace(gadgetsCRDFmt, "%s", "True", 1)}, gadgetKV("g-red", "red"), gadgetKV("g-blue", "blue"),
	} {
		if _, err := e.etcd.Put(t.Context(), kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	followed(t, "serving of gadgets", func() bool {
		code, _, _ := e.do(t, http.MethodGet, "/apis/example.org/v1/gadgets", "")
		return code == 200
	})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "gd", "-o", "name"}, "gadget.example.org/g-blue\ngadget.example.org/g-red\n"},
		{[]string{"get", "gadgets.example.org", "-o", "name", "--field-selector", "spec.color=red"}, "gadget.example.org/g-red\n"},
		{[]string{"get", "all", "-o", "name"}, "gadget.example.org/g-blue\ngadget.example.org/g-red\n"},
	} {
		if got := k.run(t, "", c.args...); got != c.want {
			t.Errorf("kubectl %s: %q, want %q", strings.Join(c.args, " "), got, c.want)
		}
	}
}

func gadgetKV(name, color string) [2]string {
	k, v := gadget(name, color)
	return [2]string{k, v}
}

// closeIdleOnCleanup closes the default transport's idle connections
// before the daemon (started before the call) shuts down: a connection the
// transport dialed while the others were busy and never used would hold
// the shutdown for 5 s (net/http waits that long for a new connection's
// first request).
func closeIdleOnCleanup(t *testing.T) {
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
}
