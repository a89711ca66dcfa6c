package server

import (
	"fmt"
	"strings"

	"github.com/watchcached/watchcached/api"
)

// Attributes are what authorization decides on, as kube-apiserver's
// authorizer.Attributes: who asks, the verb, and either the resource
// (API group, resource, subresource, namespace, name) or the path of a
// non-resource request. It is a plain value.
type Attributes struct {
	User User
	// Verb is get, list, watch, create, update, patch, delete or
	// deletecollection for a resource request; the lowercase HTTP method
	// (get, post, ...) for a non-resource one.
	Verb string
	// ResourceRequest tells a request about API objects from a
	// non-resource one (health, metrics, discovery).
	ResourceRequest bool
	// The resource a resource request is about; Namespace "" is the
	// cluster scope (a cluster-scoped resource, or all namespaces).
	APIGroup, APIVersion, Resource, Subresource, Namespace, Name string
	// Path is the URL path of a non-resource request (the full method
	// name for a gRPC call outside watchcached.v1.WatchCache).
	Path string
}

// Authorizer decides whether a request may be served. Implementations
// must be safe for concurrent use; Authorize must not block.
type Authorizer interface {
	Authorize(a Attributes) bool
}

// The verbs of resource requests, as RBAC rules name them.
const (
	rbacGet              = "get"
	rbacList             = "list"
	rbacWatch            = "watch"
	rbacCreate           = "create"
	rbacUpdate           = "update"
	rbacPatch            = "patch"
	rbacDelete           = "delete"
	rbacDeleteCollection = "deletecollection"
)

// sanitizer keeps a forbidden message from looking like HTML, as
// kube-apiserver does (quotes stay).
var sanitizer = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;")

// forbidden is kube-apiserver's 403 for a request authorization
// refused: the message of its responsewriters.Forbidden and
// apierrors.NewForbidden, and details naming the group, the resource (as
// kind) and the name.
func forbidden(a Attributes) error {
	msg := sanitizer.Replace(forbiddenReason(a))
	e := &api.Error{Err: api.ErrForbidden, Group: a.APIGroup, Kind: a.Resource, Name: a.Name}
	switch {
	case !a.ResourceRequest || a.Resource == "":
		e.Message = "forbidden: " + msg
	case a.Name == "":
		e.Message = fmt.Sprintf("%s is forbidden: %s", qualified(a), msg)
	default:
		e.Message = fmt.Sprintf("%s %q is forbidden: %s", qualified(a), a.Name, msg)
	}
	return e
}

// forbiddenReason says who cannot do what, worded as kube-apiserver's
// forbiddenMessage.
func forbiddenReason(a Attributes) string {
	if !a.ResourceRequest {
		return fmt.Sprintf("User %q cannot %s path %q", a.User.Name, a.Verb, a.Path)
	}
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	if a.Namespace != "" {
		return fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q", a.User.Name, a.Verb, res, a.APIGroup, a.Namespace)
	}
	return fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", a.User.Name, a.Verb, res, a.APIGroup)
}

// qualified is the group-qualified resource, e.g. "deployments.apps".
func qualified(a Attributes) string {
	if a.APIGroup == "" {
		return a.Resource
	}
	return a.Resource + "." + a.APIGroup
}

// authorize decides a; nil when allowed or when no authorizer is
// configured (every authenticated request is allowed).
func (s *Server) authorize(a Attributes) error {
	if s.cfg.Authorizer == nil || s.cfg.Authorizer.Authorize(a) {
		return nil
	}
	s.log.Debug("request forbidden", "user", a.User.Name, "verb", a.Verb, "resource", qualified(a),
		"subresource", a.Subresource, "namespace", a.Namespace, "name", a.Name, "path", a.Path)
	return forbidden(a)
}
