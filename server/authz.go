package server

import (
	"context"
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

// Decision is an authorizer's answer, as kube-apiserver's
// authorizer.Decision: allow, deny (stop asking), or no opinion (ask the
// next authorizer; refused when none is left).
type Decision int

// The decisions.
const (
	DecisionNoOpinion Decision = iota
	DecisionAllow
	DecisionDeny
)

// Authorizer decides whether a request may be served. The reason, when
// not "", ends the 403 message as kube-apiserver's does; an error with a
// decision other than DecisionAllow means authorization could not be
// evaluated (a 500, as in kube-apiserver). Implementations must be safe
// for concurrent use; Authorize may block on a remote call (the
// SubjectAccessReview webhook) and must return when ctx is done.
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (Decision, string, error)
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
func forbidden(a Attributes, reason string) error {
	msg := sanitizer.Replace(forbiddenReason(a))
	if reason != "" {
		msg += ": " + reason
	}
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

// authorizationError is an authorization that could not be evaluated
// (the SubjectAccessReview webhook failed): kube-apiserver answers it
// with a plain-text 500, not a 403.
type authorizationError struct{ err error }

func (e *authorizationError) Error() string { return e.err.Error() }
func (e *authorizationError) Unwrap() error { return e.err }

// authorize decides a; nil when allowed or when no authorizer is
// configured (every authenticated request is allowed); a forbidden
// api.Error when refused; an *authorizationError when it could not be
// decided.
func (s *Server) authorize(ctx context.Context, a Attributes) error {
	if s.cfg.Authorizer == nil {
		return nil
	}
	d, reason, err := s.cfg.Authorizer.Authorize(ctx, a)
	switch {
	case d == DecisionAllow:
		return nil
	case err != nil:
		s.log.Warn("authorization failed", "user", a.User.Name, "verb", a.Verb, "resource", qualified(a),
			"namespace", a.Namespace, "path", a.Path, "err", err)
		return &authorizationError{err: err}
	}
	s.log.Debug("request forbidden", "user", a.User.Name, "verb", a.Verb, "resource", qualified(a),
		"subresource", a.Subresource, "namespace", a.Namespace, "name", a.Name, "path", a.Path, "reason", reason)
	return forbidden(a, reason)
}
