package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

const aggregatedAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"

// TestDiscovery_Shapes: the documents kube-apiserver serves, exactly.
func TestDiscovery_Shapes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	host := strings.TrimPrefix(f.ts.URL, "http://")
	verbs := `"verbs":["create","delete","deletecollection","get","list","patch","update","watch"]`
	for _, c := range []struct{ path, body string }{
		{"/api", `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"` + host + `"}]}`},
		{"/api/v1", `{"kind":"APIResourceList","groupVersion":"v1","resources":[` +
			`{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod",` + verbs + `},` +
			`{"name":"nodes","singularName":"node","namespaced":false,"kind":"Node",` + verbs + `}]}`},
		{"/apis", `{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}]}`},
		{"/apis/apps", `{"kind":"APIGroup","apiVersion":"v1","name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}`},
		{"/apis/apps/v1", `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"apps/v1","resources":[` +
			`{"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment",` + verbs + `}]}`},
	} {
		t.Run(c.path, func(t *testing.T) {
			got := f.do(t, http.MethodGet, c.path, "", "Accept", aggregatedAccept)
			got.expect(t, 200, c.body)
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	var v version.Info
	got := f.do(t, http.MethodGet, "/version", "")
	if err := json.Unmarshal([]byte(got.body), &v); err != nil || v.Major != "1" || v.Minor != "37" ||
		v.GitVersion != "v1.37.0+watchcached-test" {
		t.Errorf("version: %s (%v)", got.body, err)
	}
}

// TestDiscovery_ClientGo: client-go's discovery client (which asks for
// aggregated discovery first) reads our documents and finds every resource
// with its verbs and scope.
func TestDiscovery_ClientGo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: f.ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	groups, lists, err := dc.ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups {
		names = append(names, g.Name+"="+g.PreferredVersion.GroupVersion)
	}
	if !slices.Equal(names, []string{"=v1", "apps=apps/v1"}) {
		t.Errorf("groups %v", names)
	}
	var res []string
	for _, l := range lists {
		for _, r := range l.APIResources {
			res = append(res, l.GroupVersion+"/"+r.Name+":"+r.Kind+":"+strings.Join(r.Verbs, ",")+":"+map[bool]string{true: "ns", false: "cluster"}[r.Namespaced])
		}
	}
	want := []string{
		"v1/pods:Pod:create,delete,deletecollection,get,list,patch,update,watch:ns",
		"v1/nodes:Node:create,delete,deletecollection,get,list,patch,update,watch:cluster",
		"apps/v1/deployments:Deployment:create,delete,deletecollection,get,list,patch,update,watch:ns",
	}
	if !slices.Equal(res, want) {
		t.Errorf("resources\n got %v\nwant %v", res, want)
	}
	sv, err := dc.ServerVersion()
	if err != nil || sv.GitVersion != "v1.37.0+watchcached-test" {
		t.Errorf("server version %+v, %v", sv, err)
	}
}

// TestHealth: /healthz and /livez always say ok; /readyz lists the
// storages that are not ready (the default checks, without
// Config.HealthChecks); /metrics has the request metrics.
func TestHealth(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.do(t, http.MethodGet, "/healthz", "").expect(t, 200, "ok")
	f.do(t, http.MethodGet, "/livez", "").expect(t, 200, "ok")
	f.do(t, http.MethodGet, "/readyz", "").expect(t, 200, "ok")
	f.pods.setNotReady(true)
	f.deployments.setNotReady(true)
	f.do(t, http.MethodGet, "/readyz", "").expect(t, 500, "[+]ping ok\n"+
		"[-]cache:pods failed: reason withheld\n"+
		"[+]cache:nodes ok\n"+
		"[-]cache:deployments.apps failed: reason withheld\n"+
		"[+]shutdown ok\n"+
		"readyz check failed")
	f.do(t, http.MethodGet, "/readyz/cache:pods", "").expect(t, 500, "internal server error: the cache is not ready")
	f.do(t, http.MethodGet, "/livez", "").expect(t, 200, "ok")

	f.do(t, http.MethodGet, "/api/v1/pods", "")
	f.do(t, http.MethodGet, "/api/v1/namespaces/ns1/pods/nope", "")
	m := f.do(t, http.MethodGet, "/metrics", "")
	for _, want := range []string{
		`watchcached_http_requests_total{cache="false",code="200",resource="pods",verb="LIST"} 1`,
		`watchcached_http_requests_total{cache="false",code="404",resource="pods",verb="GET"} 1`,
		`watchcached_http_request_duration_seconds_count{resource="pods",verb="LIST"} 1`,
	} {
		if !strings.Contains(m.body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
