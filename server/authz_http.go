package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
)

// withAuthorization authorizes every HTTP request, after authentication
// and before routing (an unknown path is 403, not 404, to whom may not
// see it, as in kube-apiserver), and answers 403 Forbidden when refused,
// or kube-apiserver's plain-text 500 when authorization failed. Safe for
// concurrent use.
func (s *Server) withAuthorization(next http.Handler) http.Handler {
	if s.cfg.Authorizer == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFrom(r.Context())
		err := s.authorize(r.Context(), httpAttributes(r, u))
		var failed *authorizationError
		switch {
		case errors.As(err, &failed):
			writeAuthorizationError(w, r, failed)
			return
		case err != nil:
			writeError(w, s.log, err, nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeAuthorizationError answers a request whose authorization could
// not be evaluated as kube-apiserver's responsewriters.InternalError
// does: 500, text/plain, the request URI and the error.
func writeAuthorizationError(w http.ResponseWriter, r *http.Request, e *authorizationError) {
	http.Error(w, sanitizer.Replace(fmt.Sprintf("Internal Server Error: %q: %v", r.RequestURI, e.err)),
		http.StatusInternalServerError)
}

// namespaceSubresources are the subresources of a namespace object that
// kube-apiserver does not take for a resource inside the namespace.
var namespaceSubresources = map[string]bool{"status": true, "finalize": true}

// httpAttributes parses a request as kube-apiserver's RequestInfoFactory
// does, from its path, method and query alone:
//
//	/api/<version>/...  /apis/<group>/<version>/...     resource requests
//	.../namespaces/<ns>/<resource>[/<name>[/<subresource>]]
//	.../<resource>[/<name>[/<subresource>]]
//	anything else (/metrics, /api, /apis/<group>/<version>)  non-resource
//
// A nameless GET is list, or watch with watch=true; a named GET is get
// (watch=true too); a nameless DELETE is deletecollection; a list or
// watch with the field selector metadata.name=<n> names <n>.
func httpAttributes(r *http.Request, u User) Attributes {
	a := Attributes{User: u, Path: r.URL.Path, Verb: strings.ToLower(r.Method)}
	parts := splitPath(r.URL.Path)
	if len(parts) < 3 || (parts[0] != "api" && parts[0] != "apis") {
		return a
	}
	prefix := parts[0]
	parts = parts[1:]
	if prefix == "apis" {
		if len(parts) < 3 {
			return a
		}
		a.APIGroup, parts = parts[0], parts[1:]
	}
	a.ResourceRequest, a.APIVersion, parts = true, parts[0], parts[1:]
	a.Verb = resourceVerb(r.Method)
	if parts[0] == "watch" && len(parts) > 1 { // the deprecated /watch/ paths
		a.Verb, parts = rbacWatch, parts[1:]
	}
	if parts[0] == "namespaces" && len(parts) > 1 {
		a.Namespace = parts[1]
		if len(parts) > 2 && !namespaceSubresources[parts[2]] {
			parts = parts[2:]
		}
	}
	a.Resource = parts[0]
	if len(parts) > 1 {
		a.Name = parts[1]
	}
	if len(parts) > 2 {
		a.Subresource = parts[2]
	}
	collectionVerb(&a, r)
	return a
}

// collectionVerb turns the get and delete of a nameless request into
// list/watch and deletecollection.
func collectionVerb(a *Attributes, r *http.Request) {
	if a.Name != "" {
		return
	}
	switch a.Verb {
	case rbacDelete:
		a.Verb = rbacDeleteCollection
	case rbacGet:
		q := r.URL.Query()
		a.Verb = rbacList
		if w := q.Get("watch"); w != "" && w != "false" && w != "0" {
			a.Verb = rbacWatch
		}
		if sel, err := fields.ParseSelector(q.Get("fieldSelector")); err == nil {
			if n, ok := sel.RequiresExactMatch("metadata.name"); ok && validPathSegment(n) {
				a.Name = n
			}
		}
	}
}

// resourceVerb is the verb of a resource request's method.
func resourceVerb(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return rbacGet
	case http.MethodPost:
		return rbacCreate
	case http.MethodPut:
		return rbacUpdate
	case http.MethodPatch:
		return rbacPatch
	case http.MethodDelete:
		return rbacDelete
	}
	return ""
}

// splitPath splits a path into its segments, without empty ends.
func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// validPathSegment reports whether a name may be a path segment.
func validPathSegment(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/%")
}
