package authz

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

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

// Authorize allows a when some binding that applies to the user grants
// it, as kube-apiserver's RBAC authorizer, and has no opinion otherwise
// (RBAC never denies): ClusterRoleBindings grant in every namespace and
// at the cluster scope; a RoleBinding (to a Role or a ClusterRole) grants
// in its namespace only, so a cluster-wide list or watch and a
// non-resource path need a ClusterRoleBinding. It never blocks.
func (p *Policy) Authorize(_ context.Context, a server.Attributes) (server.Decision, string, error) {
	if p.Allows(&a) {
		return server.DecisionAllow, "", nil
	}
	return server.DecisionNoOpinion, "", nil
}

// Allows reports whether the policy grants a.
func (p *Policy) Allows(a *server.Attributes) bool {
	if allows(p.cluster, a, "") {
		return true
	}
	return a.Namespace != "" && allows(p.namespaced[a.Namespace], a, a.Namespace)
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

// Named is one authorizer of a Union and the name its reasons carry.
type Named struct {
	Name       string
	Authorizer server.Authorizer
}

// Union asks its authorizers in order with kube-apiserver's union
// semantics: the first Allow or Deny is the answer (with that
// authorizer's reason and error); NoOpinion asks the next one; when all
// have no opinion, the answer is NoOpinion with every reason ("<name>:
// <reason>", one a line) and every error. Safe for concurrent use when its
// authorizers are; it must not be modified once in use.
type Union []Named

// Authorize implements server.Authorizer.
func (u Union) Authorize(ctx context.Context, a server.Attributes) (server.Decision, string, error) {
	var (
		errs    []error
		reasons []string
	)
	for _, n := range u {
		d, reason, err := n.Authorizer.Authorize(ctx, a)
		if err != nil {
			errs = append(errs, err)
		}
		if reason != "" {
			reasons = append(reasons, fmt.Sprintf("%s: %s", n.Name, reason))
		}
		if d == server.DecisionAllow || d == server.DecisionDeny {
			return d, reason, err
		}
	}
	return server.DecisionNoOpinion, strings.Join(reasons, "\n"), utilerrors.NewAggregate(errs)
}
