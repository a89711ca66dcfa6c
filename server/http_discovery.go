package server

import (
	"net/http"
	"runtime"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"

	"github.com/watchcached/watchcached/api"
)

// Discovery documents are shaped like kube-apiserver's unaggregated
// discovery (metav1 types), so kubectl and client-go discovery accept them.
// A client that asks for aggregated discovery (Accept: ...;as=
// APIGroupDiscoveryList) gets the same documents with Content-Type
// application/json; client-go then reads them as unaggregated discovery
// (it decides by the response's Content-Type) and fetches each
// groupVersion's resource list.

// resourceVerbs are the verbs every served resource supports.
var resourceVerbs = metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// serveDiscovery answers GET (and only GET) with the document build makes.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request, build func(*http.Request) any) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeMethodNotAllowed(w)
		return
	}
	writeJSONValue(w, http.StatusOK, build(r))
}

// coreVersions is /api.
func (s *Server) coreVersions(r *http.Request) any {
	return &metav1.APIVersions{
		TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
		Versions: append([]string{}, s.table().coreVersions...),
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
			{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host},
		},
	}
}

// groupList is /apis.
func (s *Server) groupList(*http.Request) any {
	l := &metav1.APIGroupList{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
		Groups:   []metav1.APIGroup{},
	}
	t := s.table()
	for i := range t.groups {
		g := apiGroup(&t.groups[i])
		g.TypeMeta = metav1.TypeMeta{}
		l.Groups = append(l.Groups, *g)
	}
	return l
}

// apiGroup is /apis/<group>.
func apiGroup(g *groupVersions) *metav1.APIGroup {
	out := &metav1.APIGroup{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"},
		Name:     g.group,
	}
	for _, v := range g.versions {
		out.Versions = append(out.Versions, metav1.GroupVersionForDiscovery{GroupVersion: g.group + "/" + v, Version: v})
	}
	out.PreferredVersion = out.Versions[0]
	return out
}

// resourceList is /api/<v> or /apis/<group>/<v>.
func (s *Server) resourceList(gv string) any {
	l := &metav1.APIResourceList{
		TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList"},
		GroupVersion: gv,
		APIResources: []metav1.APIResource{},
	}
	if strings.Contains(gv, "/") {
		l.APIVersion = "v1"
	}
	for _, e := range s.table().byGV[gv] {
		l.APIResources = append(l.APIResources, metav1.APIResource{
			Name:         e.res.Resource,
			SingularName: e.res.Singular(),
			Namespaced:   e.res.Namespaced,
			Kind:         e.res.Kind,
			Verbs:        resourceVerbs,
			ShortNames:   e.res.ShortNames,
			Categories:   e.res.Categories,
		})
		l.APIResources = append(l.APIResources, subresourceDiscovery(e.res)...)
	}
	return l
}

// subresourceVerbs are the verbs of the status and scale subresources.
var subresourceVerbs = metav1.Verbs{"get", "patch", "update"}

// subresourceDiscovery lists r's subresources as kube-apiserver does,
// right after r, in name order: "<resource>/scale" (an autoscaling/v1
// Scale, which client-go's scale client finds here) and
// "<resource>/status" (of r's own kind). B222.
func subresourceDiscovery(r *api.Resource) []metav1.APIResource {
	var out []metav1.APIResource
	if r.ScaleConfig() != nil {
		out = append(out, metav1.APIResource{Name: r.Resource + "/scale", Namespaced: r.Namespaced,
			Group: "autoscaling", Version: "v1", Kind: "Scale", Verbs: subresourceVerbs})
	}
	if r.HasStatus() {
		out = append(out, metav1.APIResource{Name: r.Resource + "/status", Namespaced: r.Namespaced,
			Kind: r.Kind, Verbs: subresourceVerbs})
	}
	return out
}

// versionInfo is /version. It reports the Kubernetes API version whose wire
// protocol is served (so clients' version-skew checks pass) and, in
// gitVersion, watchcached's own version.
func (s *Server) versionInfo(*http.Request) any {
	v := s.cfg.Version
	if v == "" {
		v = "dev"
	}
	return &version.Info{
		Major:      "1",
		Minor:      "37",
		GitVersion: "v1.37.0+watchcached-" + v,
		GoVersion:  runtime.Version(),
		Compiler:   runtime.Compiler,
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
	}
}
