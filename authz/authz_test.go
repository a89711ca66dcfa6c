package authz

import (
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/watchcached/watchcached/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testPolicy exercises every kind of rule and subject.
const testPolicy = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pod-reader}
rules:
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: everything}
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
- nonResourceURLs: ["/metrics", "/debug/*"]
  verbs: [get]
---
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: Role
  metadata: {name: web-editor, namespace: a}
  rules:
  - apiGroups: [apps]
    resources: [deployments]
    resourceNames: [web]
    verbs: [update, patch]
  - apiGroups: [""]
    resources: ["*/status"]
    verbs: [update]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata: {name: alice-edits-web, namespace: a}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: web-editor}
  subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: readers, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}
subjects:
- {kind: User, name: alice}
- {kind: Group, name: readers}
- {kind: ServiceAccount, name: local}
- {kind: ServiceAccount, name: remote, namespace: c}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: admins}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: everything}
subjects:
- {kind: Group, name: "system:masters"}
- {kind: ServiceAccount, name: robot, namespace: ops}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: sa-readers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}
subjects: [{kind: Group, name: "system:serviceaccounts:d"}]
`

func res(verb, group, resource, sub, ns, name string) server.Attributes {
	return server.Attributes{Verb: verb, ResourceRequest: true, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

func path(verb, p string) server.Attributes { return server.Attributes{Verb: verb, Path: p} }

// TestB110_RBACRuleMatching: kube-apiserver's RBAC decisions for verbs,
// groups, wildcards, resourceNames, subresources, RoleBinding to
// ClusterRole scoped to its namespace, groups and service accounts.
func TestB110_RBACRuleMatching(t *testing.T) {
	p, err := Parse([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	alice := server.User{Name: "alice", Groups: []string{"system:authenticated"}}
	bob := server.User{Name: "bob", Groups: []string{"readers"}}
	admin := server.User{Name: "root", Groups: []string{"system:masters"}}
	sa := func(ns, name string, groups ...string) server.User {
		return server.User{Name: "system:serviceaccount:" + ns + ":" + name, Groups: groups}
	}
	for _, c := range []struct {
		name string
		user server.User
		a    server.Attributes
		want bool
	}{
		{"list in bound namespace", alice, res("list", "", "pods", "", "a", ""), true},
		{"watch in bound namespace", alice, res("watch", "", "pods", "", "a", ""), true},
		{"get one in bound namespace", alice, res("get", "", "pods", "", "a", "p1"), true},
		{"verb not granted", alice, res("delete", "", "pods", "", "a", "p1"), false},
		{"other namespace", alice, res("list", "", "pods", "", "b", ""), false},
		{"cluster-wide list needs a ClusterRoleBinding", alice, res("list", "", "pods", "", "", ""), false},
		{"cluster-wide watch needs a ClusterRoleBinding", alice, res("watch", "", "pods", "", "", ""), false},
		{"other group", alice, res("list", "apps", "pods", "", "a", ""), false},
		{"other resource", alice, res("list", "", "configmaps", "", "a", ""), false},
		{"listed subresource", alice, res("get", "", "pods", "log", "a", "p1"), true},
		{"unlisted subresource", alice, res("get", "", "pods", "exec", "a", "p1"), false},
		{"*/status subresource", alice, res("update", "", "pods", "status", "a", "p1"), true},
		{"*/status is not the resource", alice, res("update", "", "pods", "", "a", "p1"), false},
		{"resourceNames match", alice, res("patch", "apps", "deployments", "", "a", "web"), true},
		{"resourceNames other name", alice, res("patch", "apps", "deployments", "", "a", "db"), false},
		{"resourceNames no name", alice, res("update", "apps", "deployments", "", "a", ""), false},
		{"Role only in its namespace", alice, res("patch", "apps", "deployments", "", "b", "web"), false},
		{"group subject", bob, res("list", "", "pods", "", "a", ""), true},
		{"group subject elsewhere", bob, res("list", "", "pods", "", "b", ""), false},
		{"no binding", server.User{Name: "eve"}, res("get", "", "pods", "", "a", "p1"), false},
		{"wildcards everywhere", admin, res("deletecollection", "apps", "deployments", "", "", ""), true},
		{"wildcards subresource", admin, res("update", "", "pods", "status", "x", "p"), true},
		{"nonResourceURL exact", admin, path("get", "/metrics"), true},
		{"nonResourceURL prefix", admin, path("get", "/debug/pprof/heap"), true},
		{"nonResourceURL prefix is not the stem", admin, path("get", "/debug"), false},
		{"nonResourceURL verb", admin, path("post", "/metrics"), false},
		{"nonResourceURL not granted", alice, path("get", "/metrics"), false},
		{"SA of the RoleBinding's namespace", sa("a", "local"), res("list", "", "pods", "", "a", ""), true},
		{"SA name in another namespace", sa("b", "local"), res("list", "", "pods", "", "a", ""), false},
		{"SA with explicit namespace", sa("c", "remote"), res("list", "", "pods", "", "a", ""), true},
		{"SA of a ClusterRoleBinding", sa("ops", "robot"), res("delete", "", "nodes", "", "", "n1"), true},
		{"SA groups", sa("d", "any", "system:serviceaccounts", "system:serviceaccounts:d"), res("watch", "", "pods", "", "", ""), true},
		{"SA groups of another namespace", sa("e", "any", "system:serviceaccounts", "system:serviceaccounts:e"), res("watch", "", "pods", "", "", ""), false},
	} {
		c.a.User = c.user
		if got := p.Allows(&c.a); got != c.want {
			t.Errorf("%s: %+v: %v, want %v", c.name, c.a, got, c.want)
		}
	}
}

// TestB112_DefaultPolicy: health and discovery are open to authenticated
// users, health and /version to unauthenticated ones, /metrics to
// system:monitoring, and nothing else.
func TestB112_DefaultPolicy(t *testing.T) {
	d := Default()
	authn := server.User{Name: "u", Groups: []string{"system:authenticated"}}
	anon := server.User{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}}
	mon := server.User{Name: "prom", Groups: []string{"system:monitoring", "system:authenticated"}}
	for _, c := range []struct {
		user server.User
		a    server.Attributes
		want bool
	}{
		{authn, path("get", "/healthz"), true},
		{authn, path("get", "/readyz"), true},
		{authn, path("get", "/livez"), true},
		{authn, path("get", "/version"), true},
		{authn, path("get", "/api"), true},
		{authn, path("get", "/api/v1"), true},
		{authn, path("get", "/apis/apps/v1"), true},
		{authn, path("get", "/openapi/v2"), true},
		{authn, path("get", "/grpc.health.v1.Health/Check"), true},
		{authn, path("get", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"), true},
		{authn, path("get", "/metrics"), false},
		{authn, path("get", "/readyz/etcd"), false},
		{authn, path("post", "/healthz"), false},
		{authn, res("get", "", "pods", "", "a", "p"), false},
		{anon, path("get", "/healthz"), true},
		{anon, path("get", "/version"), true},
		{anon, path("get", "/api"), false},
		{mon, path("get", "/metrics"), true},
		{mon, path("get", "/readyz/etcd"), true},
	} {
		c.a.User = c.user
		if got := d.Allows(&c.a); got != c.want {
			t.Errorf("%s %+v: %v, want %v", c.user.Name, c.a, got, c.want)
		}
	}
}

// TestB110_PolicyFileErrors: a bad policy file is refused with an error
// naming the document and the problem.
func TestB110_PolicyFileErrors(t *testing.T) {
	const head = "apiVersion: rbac.authorization.k8s.io/v1\n"
	for _, c := range []struct{ doc, want string }{
		{"apiVersion: v1\nkind: ConfigMap\n", "document 1: v1 ConfigMap: only rbac.authorization.k8s.io/v1 Role, ClusterRole, RoleBinding and ClusterRoleBinding (or a v1 List of them) are allowed"},
		{head + "kind: Pod\n", `document 1: kind "Pod": only Role, ClusterRole, RoleBinding and ClusterRoleBinding are allowed`},
		{head + "kind: ClusterRole\nmetadata: {name: x}\nrulez: []\n", `document 1: ClusterRole: json: unknown field "rulez"`},
		{head + "kind: ClusterRole\nmetadata: {name: x}\nrules: [{apiGroups: [''], resources: [pods]}]\n", `ClusterRole "x": rules[0]: verbs: required`},
		{head + "kind: ClusterRole\nmetadata: {name: x}\nrules: [{verbs: [get], resources: [pods]}]\n", `ClusterRole "x": rules[0]: apiGroups: required ("" is the core group)`},
		{head + "kind: Role\nmetadata: {name: x, namespace: a}\nrules: [{verbs: [get], nonResourceURLs: [/metrics]}]\n", `Role "a/x": rules[0]: nonResourceURLs: namespaced rules cannot apply to non-resource URLs`},
		{head + "kind: Role\nmetadata: {name: x}\n", `Role "x": metadata.namespace is required`},
		{head + "kind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: nope}\n", `ClusterRoleBinding "b": roleRef: ClusterRole "nope" is not defined in the file`},
		{head + "kind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\n", `ClusterRoleBinding "b": roleRef.kind "Role" is not allowed`},
		{head + "kind: ClusterRole\nmetadata: {name: r}\n---\n" + head + "kind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}\nsubjects: [{kind: ServiceAccount, name: s}]\n",
			`ClusterRoleBinding "b": subjects[0]: namespace: required for a ServiceAccount of a ClusterRoleBinding`},
		{head + "kind: ClusterRole\nmetadata: {name: r}\n---\n" + head + "kind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}\nsubjects: [{kind: Robot, name: s}]\n",
			`ClusterRoleBinding "b": subjects[0]: kind "Robot": must be User, Group or ServiceAccount`},
		{"a: [\n", "document 1: yaml: line 1: did not find expected node content"},
	} {
		_, err := Parse([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.doc, err, c.want)
		}
	}
	if p, err := Parse([]byte("---\n# only a comment\n---\n")); err != nil || p.Allows(&server.Attributes{Verb: "get", Path: "/healthz"}) {
		t.Errorf("empty policy: %v", err)
	}
}
