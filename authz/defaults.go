package authz

import rbacv1 "k8s.io/api/rbac/v1"

// Default is the built-in policy that --authorization-policy-file adds to
// the file's, as kube-apiserver's bootstrap policy does:
//
//   - system:public-info-viewer: get /healthz, /livez, /readyz, /version
//     and the gRPC health service, for system:authenticated and
//     system:unauthenticated;
//   - system:discovery: get /api, /apis, /openapi and what is under them,
//     and gRPC server reflection, for system:authenticated;
//   - system:monitoring: get /metrics and the health paths with their
//     checks (/readyz/<check> ...), for the group system:monitoring.
//
// It is evaluated apart from the file, so the file may define roles of
// the same names.
func Default() *Policy {
	get := []string{"get"}
	public := []rbacv1.PolicyRule{{Verbs: get, NonResourceURLs: []string{
		"/healthz", "/livez", "/readyz", "/version", "/version/", "/grpc.health.v1.Health/*",
	}}}
	discovery := []rbacv1.PolicyRule{{Verbs: get, NonResourceURLs: []string{
		"/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
		"/version", "/version/", "/grpc.reflection.v1.ServerReflection/*", "/grpc.reflection.v1alpha.ServerReflection/*",
	}}}
	monitoring := []rbacv1.PolicyRule{{Verbs: get, NonResourceURLs: []string{
		"/metrics", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*", "/healthz/*",
	}}}
	group := func(names ...string) []rbacv1.Subject {
		var s []rbacv1.Subject
		for _, n := range names {
			s = append(s, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: n})
		}
		return s
	}
	return newPolicy([]binding{
		{subjects: group("system:authenticated", "system:unauthenticated"), rules: public},
		{subjects: group("system:authenticated"), rules: discovery},
		{subjects: group("system:monitoring"), rules: monitoring},
	}, nil)
}
