package server

import (
	"net/http"

	"github.com/watchcached/watchcached/api"
)

// The subresources of an object (B220-B223): status and scale, when the
// resource configures them. kube-apiserver serves get, update and patch
// on both; any other method is 405.

const (
	subStatus = "status"
	subScale  = "scale"
)

// hasSubresource reports whether r serves the subresource sub.
func hasSubresource(r *api.Resource, sub string) bool {
	switch sub {
	case subStatus:
		return r.HasStatus()
	case subScale:
		return r.ScaleConfig() != nil
	}
	return false
}

// isNamespaceSubresource reports whether segs, which start with
// "namespaces/<name>/<x>", name a subresource of a namespace (as
// /api/v1/namespaces/ns1/status does) rather than the collection <x> in
// namespace <name>: <x> is no resource of gv and a subresource of its
// namespaces resource.
func (s *Server) isNamespaceSubresource(gv string, segs []string) bool {
	if len(segs) != 3 || s.table().lookup(gv, segs[2]) != nil {
		return false
	}
	ns := s.table().lookup(gv, "namespaces")
	return ns != nil && !ns.res.Namespaced && hasSubresource(ns.res, segs[2])
}

// subresourceVerb is the verb of a request to a subresource, "" (405) for
// a method it does not serve. A watch of a subresource is not served.
func subresourceVerb(r *http.Request) string {
	switch r.Method {
	case http.MethodGet:
		if r.URL.Query().Get("watch") == "" {
			return verbGet
		}
	case http.MethodPut:
		return verbUpdate
	case http.MethodPatch:
		return verbPatch
	}
	return ""
}
