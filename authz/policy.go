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
// holds the rules of the role it references, and the bindings are indexed
// by the users and groups they name. It is read-only once built and safe
// for concurrent use.
type Policy struct {
	cluster    subjectIndex            // ClusterRoleBindings: every namespace and the cluster scope
	namespaced map[string]subjectIndex // RoleBindings by namespace: that namespace only
}

// binding is who a binding names and what its role grants them.
type binding struct {
	subjects []rbacv1.Subject
	rules    []rbacv1.PolicyRule
}

var _ server.Authorizer = (*Policy)(nil)

// newPolicy indexes ClusterRoleBindings and RoleBindings by namespace.
func newPolicy(cluster []binding, namespaced map[string][]binding) *Policy {
	p := &Policy{cluster: newSubjectIndex(cluster, ""), namespaced: make(map[string]subjectIndex, len(namespaced))}
	for ns, bs := range namespaced {
		p.namespaced[ns] = newSubjectIndex(bs, ns)
	}
	return p
}

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
	if p.cluster.allows(a) {
		return true
	}
	if a.Namespace == "" {
		return false
	}
	ix, ok := p.namespaced[a.Namespace]
	return ok && ix.allows(a)
}

// subjectIndex finds the bindings that name a user: by its name (User
// subjects, and ServiceAccount subjects as system:serviceaccount:<ns>:<name>)
// and by each of its groups, so a decision looks only at the bindings
// that apply, however many the policy has.
type subjectIndex struct {
	byName  map[string][]*binding
	byGroup map[string][]*binding
}

// newSubjectIndex indexes bs; a ServiceAccount subject without a
// namespace is in ns (the RoleBinding's).
func newSubjectIndex(bs []binding, ns string) subjectIndex {
	ix := subjectIndex{byName: map[string][]*binding{}, byGroup: map[string][]*binding{}}
	for i := range bs {
		b := &bs[i]
		for _, s := range b.subjects {
			switch s.Kind {
			case rbacv1.UserKind:
				ix.byName[s.Name] = appendOnce(ix.byName[s.Name], b)
			case rbacv1.GroupKind:
				ix.byGroup[s.Name] = appendOnce(ix.byGroup[s.Name], b)
			case rbacv1.ServiceAccountKind:
				sns := s.Namespace
				if sns == "" {
					sns = ns
				}
				if sns != "" {
					name := serviceAccountPrefix + sns + ":" + s.Name
					ix.byName[name] = appendOnce(ix.byName[name], b)
				}
			}
		}
	}
	return ix
}

// appendOnce appends b unless it is last already (a binding naming one
// subject twice).
func appendOnce(bs []*binding, b *binding) []*binding {
	if len(bs) > 0 && bs[len(bs)-1] == b {
		return bs
	}
	return append(bs, b)
}

// allows reports whether a binding naming a's user or one of its groups
// grants a.
func (ix *subjectIndex) allows(a *server.Attributes) bool {
	for _, b := range ix.byName[a.User.Name] {
		if b.grants(a) {
			return true
		}
	}
	for _, g := range a.User.Groups {
		for _, b := range ix.byGroup[g] {
			if b.grants(a) {
				return true
			}
		}
	}
	return false
}

// grants reports whether one of the binding's rules grants a.
func (b *binding) grants(a *server.Attributes) bool {
	for i := range b.rules {
		if ruleAllows(a, &b.rules[i]) {
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
