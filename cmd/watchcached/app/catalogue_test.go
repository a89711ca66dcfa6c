package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

// TestKubeCatalogue_Loads: `--resources kube` loads every catalogued
// resource, each valid, at kube-apiserver's key prefixes (the special
// prefixes compiled into kube-apiserver, no group in built-in keys, the
// group in the CRD key), passing the overlap check under any etcd prefix.
func TestKubeCatalogue_Loads(t *testing.T) {
	list, err := LoadResources("kube", "/registry")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*api.Resource{}
	for _, r := range list {
		if err := r.Validate(); err != nil {
			t.Error(err)
		}
		got[r.GroupResource()] = r
	}
	want := []string{"configmaps", "endpoints", "events", "namespaces", "nodes", "persistentvolumeclaims",
		"persistentvolumes", "pods", "secrets", "serviceaccounts", "services",
		"daemonsets.apps", "deployments.apps", "replicasets.apps", "statefulsets.apps",
		"cronjobs.batch", "jobs.batch", "leases.coordination.k8s.io", "endpointslices.discovery.k8s.io", "events.events.k8s.io",
		"ingresses.networking.k8s.io", "networkpolicies.networking.k8s.io", "poddisruptionbudgets.policy",
		"priorityclasses.scheduling.k8s.io", "storageclasses.storage.k8s.io",
		"clusterrolebindings.rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io",
		"rolebindings.rbac.authorization.k8s.io", "roles.rbac.authorization.k8s.io",
		"customresourcedefinitions.apiextensions.k8s.io"}
	if len(list) != len(want) {
		t.Errorf("%d resources, want %d", len(list), len(want))
	}
	for _, gr := range want {
		if got[gr] == nil {
			t.Errorf("%s missing", gr)
		}
	}
	for gr, prefix := range map[string]string{
		"services":                               "/registry/services/specs/",
		"endpoints":                              "/registry/services/endpoints/",
		"nodes":                                  "/registry/minions/",
		"ingresses.networking.k8s.io":            "/registry/ingress/",
		"deployments.apps":                       "/registry/deployments/",
		"pods":                                   "/registry/pods/",
		"endpointslices.discovery.k8s.io":        "/registry/endpointslices/",
		"priorityclasses.scheduling.k8s.io":      "/registry/priorityclasses/",
		"clusterroles.rbac.authorization.k8s.io": "/registry/clusterroles/",
		"customresourcedefinitions.apiextensions.k8s.io": "/registry/apiextensions.k8s.io/customresourcedefinitions/",
		"events.events.k8s.io":                           "/registry/events/",
	} {
		if r := got[gr]; r != nil && r.Prefix("/registry") != prefix {
			t.Errorf("%s: prefix %q, want %q", gr, r.Prefix("/registry"), prefix)
		}
	}
	if r := got["pods"]; !slices.Equal(r.ShortNames, []string{"po"}) || !slices.Equal(r.Categories, []string{"all"}) || r.Namespaced != true {
		t.Errorf("pods: %+v", r)
	}
	if r := got["nodes"]; r.Namespaced || !slices.Equal(r.ShortNames, []string{"no"}) || len(r.Categories) != 0 {
		t.Errorf("nodes: %+v", r)
	}
	if _, err := LoadResources("kube", "/cluster-a"); err != nil {
		t.Errorf("under /cluster-a: %v", err)
	}
}

// TestCheckResources_SharedStorage: two resources may have one key prefix
// only when one declares sharesStorageWith the other, with the same
// resource name and scope; a dangling or mismatched declaration is an
// error naming the entries.
func TestCheckResources_SharedStorage(t *testing.T) {
	core := func() *api.Resource {
		return &api.Resource{Version: "v1", Resource: "events", Kind: "Event", Namespaced: true, KeyPrefix: "events"}
	}
	view := func(shares string, namespaced bool) *api.Resource {
		return &api.Resource{Group: "events.k8s.io", Version: "v1", Resource: "events", Kind: "Event",
			Namespaced: namespaced, KeyPrefix: "events", SharesStorageWith: shares}
	}
	for _, c := range []struct {
		name string
		list []*api.Resource
		want string
	}{
		{"Declared", []*api.Resource{core(), view("events", true)}, ""},
		{"DeclaredByTheFirst", []*api.Resource{{Version: "v1", Resource: "events", Kind: "Event", Namespaced: true,
			KeyPrefix: "events", SharesStorageWith: "events.events.k8s.io"}, view("", true)}, ""},
		{"Undeclared", []*api.Resource{core(), view("", true)},
			`entry 2 (resource "events.events.k8s.io", key prefix "/registry/events/") overlaps entry 1 (resource "events", key prefix "/registry/events/")`},
		{"Dangling", []*api.Resource{core(), view("events.example.com", true)},
			`entry 2: sharesStorageWith "events.example.com" names no other configured resource`},
		{"Self", []*api.Resource{core(), view("events.events.k8s.io", true)},
			`entry 2: sharesStorageWith "events.events.k8s.io" names no other configured resource`},
		{"OtherScope", []*api.Resource{core(), view("events", false)},
			`entry 2 (resource "events.events.k8s.io", key prefix "/registry/events/"): sharesStorageWith entry 1 (resource "events", key prefix "/registry/events/") needs the same resource name, scope and key prefix`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkResources(c.list, "/registry")
			wantErrText(t, err, c.want)
		})
	}
}

// TestKubeCatalogue_Serves: a daemon with `--resources kube` serves
// objects written into etcd at kube-apiserver's keys, and kube-apiserver's
// field selectors match as its field sets render values: strings as
// stored, an omitted false boolean as "false", a count under another
// JSON name, and "source" from source.component.
func TestKubeCatalogue_Serves(t *testing.T) {
	cfg := testConfig(t)
	cfg.ResourcesFile = "kube"
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	d := startReady(t, ctx, cfg)
	c := etcdClient(t, d)
	defer c.Close()
	rev := map[string]int64{} // by the key's first segment: the revision of its last write
	for _, kv := range [][2]string{
		{"/registry/pods/a/run", `{"metadata":{"name":"run","namespace":"a"},"status":{"phase":"Running"}}`},
		{"/registry/pods/a/host", `{"metadata":{"name":"host","namespace":"a"},"spec":{"hostNetwork":true},"status":{"phase":"Pending"}}`},
		{"/registry/minions/n1", `{"metadata":{"name":"n1"},"spec":{"unschedulable":true}}`},
		{"/registry/services/specs/a/s", `{"metadata":{"name":"s","namespace":"a"}}`},
		{"/registry/jobs/a/done", `{"metadata":{"name":"done","namespace":"a"},"status":{"succeeded":3}}`},
		{"/registry/jobs/a/new", `{"metadata":{"name":"new","namespace":"a"}}`},
		{"/registry/events/a/e1", `{"metadata":{"name":"e1","namespace":"a"},"involvedObject":{"kind":"Pod","name":"run"},"source":{"component":"kubelet"},` +
			`"reportingComponent":"kubelet","reason":"Started","type":"Normal"}`},
	} {
		resp, err := c.Put(ctx, kv[0], kv[1])
		if err != nil {
			t.Fatal(err)
		}
		rev[strings.Split(kv[0], "/")[2]] = resp.Header.Revision
	}
	// A list at the revision of the resource's last write (NotOlderThan)
	// waits until its cache holds every object written above.
	names := func(path, keySegment, selector string) string {
		t.Helper()
		u := fmt.Sprintf("http://%s%s?resourceVersion=%d&resourceVersionMatch=NotOlderThan&fieldSelector=%s",
			d.HTTPAddr, path, rev[keySegment], url.QueryEscape(selector))
		code, body := httpDo(t, http.MethodGet, u, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", u, code, body)
		}
		var list struct {
			Items []struct{ Metadata struct{ Name string } } `json:"items"`
		}
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		var out []string
		for _, it := range list.Items {
			out = append(out, it.Metadata.Name)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct{ path, key, selector, want string }{
		{"/api/v1/namespaces/a/pods", "pods", "status.phase=Running", "run"},
		{"/api/v1/namespaces/a/pods", "pods", "spec.hostNetwork=true", "host"},
		{"/api/v1/namespaces/a/pods", "pods", "spec.hostNetwork=false", "run"},
		{"/api/v1/nodes", "minions", "spec.unschedulable=true", "n1"},
		{"/api/v1/nodes", "minions", "spec.unschedulable=false", ""},
		{"/api/v1/namespaces/a/services", "services", "metadata.name=s", "s"},
		{"/apis/batch/v1/namespaces/a/jobs", "jobs", "status.successful=3", "done"},
		{"/apis/batch/v1/namespaces/a/jobs", "jobs", "status.successful=0", "new"},
		{"/api/v1/namespaces/a/events", "events", "involvedObject.name=run,source=kubelet", "e1"},
		{"/api/v1/namespaces/a/events", "events", "source=kubelet,involvedObject.kind=Node", ""},
		// B191: the same event as events.k8s.io/v1 serves it.
		{"/apis/events.k8s.io/v1/namespaces/a/events", "events", "regarding.name=run,regarding.kind=Pod,reason=Started", "e1"},
		{"/apis/events.k8s.io/v1/namespaces/a/events", "events", "reportingController=kubelet,type=Normal", "e1"},
		{"/apis/events.k8s.io/v1/namespaces/a/events", "events", "regarding.kind=Node", ""},
	} {
		if got := names(c.path, c.key, c.selector); got != c.want {
			t.Errorf("%s?fieldSelector=%s: %q, want %q", c.path, c.selector, got, c.want)
		}
	}
}
