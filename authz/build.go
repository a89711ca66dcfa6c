package authz

import (
	"errors"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
)

// build validates the objects and resolves each binding's role.
func (objs *objects) build() (*Policy, error) {
	roles := map[string][]rbacv1.PolicyRule{}        // "<ns>/<name>"
	clusterRoles := map[string][]rbacv1.PolicyRule{} // "<name>"
	for _, r := range objs.clusterRoles {
		if err := checkRole("ClusterRole", "", r.Name, false, r.Rules, clusterRoles); err != nil {
			return nil, err
		}
		clusterRoles[r.Name] = r.Rules
	}
	for _, r := range objs.roles {
		if err := checkRole("Role", r.Namespace, r.Name, true, r.Rules, roles); err != nil {
			return nil, err
		}
		roles[r.Namespace+"/"+r.Name] = r.Rules
	}
	var cluster []binding
	namespaced := map[string][]binding{}
	for _, b := range objs.clusterRoleBindings {
		rules, err := resolve("ClusterRoleBinding", b.Name, "", b.RoleRef, b.Subjects, roles, clusterRoles)
		if err != nil {
			return nil, err
		}
		cluster = append(cluster, binding{subjects: b.Subjects, rules: rules})
	}
	for _, b := range objs.roleBindings {
		if b.Namespace == "" {
			return nil, fmt.Errorf("RoleBinding %q: metadata.namespace is required", b.Name)
		}
		rules, err := resolve("RoleBinding", b.Name, b.Namespace, b.RoleRef, b.Subjects, roles, clusterRoles)
		if err != nil {
			return nil, err
		}
		namespaced[b.Namespace] = append(namespaced[b.Namespace], binding{subjects: b.Subjects, rules: rules})
	}
	return newPolicy(cluster, namespaced), nil
}

// checkRole validates a role: a name, a namespace for a Role, no
// duplicate, and every rule as kube-apiserver's validation has it.
func checkRole(kind, ns, name string, namespaced bool, rules []rbacv1.PolicyRule, seen map[string][]rbacv1.PolicyRule) error {
	key := name
	if namespaced {
		key = ns + "/" + name
	}
	switch _, dup := seen[key]; {
	case name == "":
		return fmt.Errorf("%s: metadata.name is required", kind)
	case namespaced && ns == "":
		return fmt.Errorf("%s %q: metadata.namespace is required", kind, name)
	case dup:
		return fmt.Errorf("%s %q: defined twice", kind, key)
	}
	for i := range rules {
		if err := checkRule(&rules[i], namespaced); err != nil {
			return fmt.Errorf("%s %q: rules[%d]: %w", kind, key, i, err)
		}
	}
	return nil
}

// checkRule is kube-apiserver's ValidatePolicyRule.
func checkRule(r *rbacv1.PolicyRule, namespaced bool) error {
	switch {
	case len(r.Verbs) == 0:
		return errors.New("verbs: required")
	case len(r.NonResourceURLs) > 0 && namespaced:
		return errors.New("nonResourceURLs: namespaced rules cannot apply to non-resource URLs")
	case len(r.NonResourceURLs) > 0 && (len(r.APIGroups) > 0 || len(r.Resources) > 0):
		return errors.New("nonResourceURLs: rules cannot apply to both regular resources and non-resource URLs")
	case len(r.NonResourceURLs) > 0:
		return nil
	case len(r.APIGroups) == 0:
		return errors.New("apiGroups: required (\"\" is the core group)")
	case len(r.Resources) == 0:
		return errors.New("resources: required")
	}
	return nil
}

// resolve validates a binding and returns the rules of its role: a
// ClusterRoleBinding references a ClusterRole, a RoleBinding a Role of its
// namespace or a ClusterRole, which must be in the file.
func resolve(kind, name, ns string, ref rbacv1.RoleRef, subjects []rbacv1.Subject,
	roles, clusterRoles map[string][]rbacv1.PolicyRule) ([]rbacv1.PolicyRule, error) {
	where := fmt.Sprintf("%s %q", kind, name)
	if ns != "" {
		where = fmt.Sprintf("%s %q", kind, ns+"/"+name)
	}
	if name == "" {
		return nil, fmt.Errorf("%s: metadata.name is required", kind)
	}
	if ref.APIGroup != rbacv1.GroupName {
		return nil, fmt.Errorf("%s: roleRef.apiGroup must be %q", where, rbacv1.GroupName)
	}
	for i := range subjects {
		if err := checkSubject(&subjects[i], ns != ""); err != nil {
			return nil, fmt.Errorf("%s: subjects[%d]: %w", where, i, err)
		}
	}
	var rules []rbacv1.PolicyRule
	var found bool
	switch {
	case ref.Kind == "ClusterRole":
		rules, found = clusterRoles[ref.Name]
	case ref.Kind == "Role" && ns != "":
		rules, found = roles[ns+"/"+ref.Name]
	default:
		return nil, fmt.Errorf("%s: roleRef.kind %q is not allowed", where, ref.Kind)
	}
	if !found {
		return nil, fmt.Errorf("%s: roleRef: %s %q is not defined in the file", where, ref.Kind, ref.Name)
	}
	return rules, nil
}

// checkSubject is kube-apiserver's ValidateRoleBindingSubject.
func checkSubject(s *rbacv1.Subject, namespaced bool) error {
	if s.Name == "" {
		return errors.New("name: required")
	}
	switch s.Kind {
	case rbacv1.UserKind, rbacv1.GroupKind:
		if s.APIGroup != "" && s.APIGroup != rbacv1.GroupName {
			return fmt.Errorf("apiGroup: must be %q", rbacv1.GroupName)
		}
	case rbacv1.ServiceAccountKind:
		if s.APIGroup != "" {
			return errors.New(`apiGroup: must be "" for a ServiceAccount`)
		}
		if s.Namespace == "" && !namespaced {
			return errors.New("namespace: required for a ServiceAccount of a ClusterRoleBinding")
		}
	default:
		return fmt.Errorf("kind %q: must be User, Group or ServiceAccount", s.Kind)
	}
	return nil
}
