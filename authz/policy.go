package authz

import (
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/watchcached/watchcached/server"
)

// Policy is a set of RBAC roles and bindings, resolved: each binding
// holds the rules of the role it references. It is read-only once built
// and safe for concurrent use.
type Policy struct {
	cluster    []binding            // ClusterRoleBindings: every namespace and the cluster scope
	namespaced map[string][]binding // RoleBindings by namespace: that namespace only
}

// binding is who a binding names and what its role grants them.
type binding struct {
	subjects []rbacv1.Subject
	rules    []rbacv1.PolicyRule
}

var _ server.Authorizer = (*Policy)(nil)

// Authorize reports whether some binding that applies to the user grants
// a, as kube-apiserver's RBAC authorizer: ClusterRoleBindings grant in
// every namespace and at the cluster scope; a RoleBinding (to a Role or a
// ClusterRole) grants in its namespace only, so a cluster-wide list or
// watch and a non-resource path need a ClusterRoleBinding.
func (p *Policy) Authorize(a server.Attributes) bool {
	if allows(p.cluster, &a, "") {
		return true
	}
	return a.Namespace != "" && allows(p.namespaced[a.Namespace], &a, a.Namespace)
}

// allows reports whether one of bs applies to a's user and grants a.
func allows(bs []binding, a *server.Attributes, ns string) bool {
	for i := range bs {
		if !bindsUser(&bs[i], &a.User, ns) {
			continue
		}
		for j := range bs[i].rules {
			if ruleAllows(a, &bs[i].rules[j]) {
				return true
			}
		}
	}
	return false
}

func bindsUser(b *binding, u *server.User, ns string) bool {
	for i := range b.subjects {
		if appliesTo(u, &b.subjects[i], ns) {
			return true
		}
	}
	return false
}

// Union authorizes what any of its policies authorizes.
type Union []*Policy

// Authorize implements server.Authorizer.
func (u Union) Authorize(a server.Attributes) bool {
	for _, p := range u {
		if p.Authorize(a) {
			return true
		}
	}
	return false
}
