package authz

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/watchcached/watchcached/server"
)

// ruleAllows reports whether one policy rule grants a, with
// kube-apiserver's RBAC matching: "*" matches any verb, group, resource
// or URL; "*/<sub>" any resource's subresource <sub>; resourceNames, when
// given, list the names a rule is limited to; a nonResourceURL ending in
// "*" matches every path with that prefix.
func ruleAllows(a *server.Attributes, r *rbacv1.PolicyRule) bool {
	if !matches(r.Verbs, a.Verb) {
		return false
	}
	if !a.ResourceRequest {
		return urlMatches(r.NonResourceURLs, a.Path)
	}
	return matches(r.APIGroups, a.APIGroup) && resourceMatches(r.Resources, a.Resource, a.Subresource) &&
		(len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, a.Name))
}

// matches reports whether values hold v or "*".
func matches(values []string, v string) bool {
	for _, x := range values {
		if x == v || x == rbacv1.VerbAll {
			return true
		}
	}
	return false
}

// resourceMatches matches "<resource>[/<subresource>]" against a rule's
// resources.
func resourceMatches(resources []string, resource, sub string) bool {
	combined := resource
	if sub != "" {
		combined += "/" + sub
	}
	for _, r := range resources {
		switch {
		case r == rbacv1.ResourceAll || r == combined:
			return true
		case sub != "" && r == "*/"+sub:
			return true
		}
	}
	return false
}

// urlMatches matches a non-resource path against a rule's URLs.
func urlMatches(urls []string, path string) bool {
	for _, u := range urls {
		switch {
		case u == rbacv1.NonResourceAll || u == path:
			return true
		case strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimSuffix(u, "*")):
			return true
		}
	}
	return false
}

// serviceAccountPrefix starts the user name of a ServiceAccount.
const serviceAccountPrefix = "system:serviceaccount:"
