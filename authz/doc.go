// Package authz is watchcached's --authorization-policy-file: Kubernetes
// RBAC objects (Role, ClusterRole, RoleBinding, ClusterRoleBinding of
// rbac.authorization.k8s.io/v1) read from a YAML file and evaluated as
// kube-apiserver's RBAC authorizer evaluates them (no aggregation), plus
// a built-in default policy that opens health and discovery as
// kube-apiserver's bootstrap roles do. A Policy implements
// server.Authorizer.
package authz
