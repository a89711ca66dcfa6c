package authz

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/server"
)

// bigPolicy is n bindings: n/2 RoleBindings of a ClusterRole, each for
// one user in its own namespace, and n/2 ClusterRoleBindings, each for one
// group, none of which the benchmarked user is in. The last RoleBinding's
// user is the one asking, so every binding of its namespace and every
// ClusterRoleBinding is looked at.
func bigPolicy(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\n" +
		"rules: [{apiGroups: [\"\", apps], resources: [pods, deployments, configmaps], verbs: [get, list, watch]}]\n")
	for i := range n / 2 {
		fmt.Fprintf(&b, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb%d, namespace: ns%d}\n"+
			"roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}\nsubjects: [{kind: User, name: user%d}]\n", i, i%10, i)
		fmt.Fprintf(&b, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: crb%d}\n"+
			"roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}\nsubjects: [{kind: Group, name: group%d}]\n", i, i)
	}
	return b.String()
}

// BenchmarkAuthorize: one decision on a policy of 1,000 bindings through
// the union the daemon builds (default policy, then the file): Allowed by
// the last RoleBinding of its namespace, and NoOpinion for a user no
// binding names (every binding that could apply is looked at). Issue 11
// asks for at most 5 µs per request.
func BenchmarkAuthorize(b *testing.B) {
	const n = 1000
	p, err := Parse([]byte(bigPolicy(n)))
	if err != nil {
		b.Fatal(err)
	}
	u := Union{{Name: "default", Authorizer: Default()}, {Name: "file", Authorizer: p}}
	last := n/2 - 1
	ns := fmt.Sprintf("ns%d", last%10)
	for _, c := range []struct {
		name string
		user string
		want server.Decision
	}{{"Allowed", fmt.Sprintf("user%d", last), server.DecisionAllow}, {"NoOpinion", "stranger", server.DecisionNoOpinion}} {
		b.Run(c.name, func(b *testing.B) {
			a := res("list", "", "pods", "", ns, "")
			a.User = server.User{Name: c.user, Groups: []string{"dev", "system:authenticated"}}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if d, _, _ := u.Authorize(ctx, a); d != c.want {
					b.Fatalf("%v, want %v", d, c.want)
				}
			}
		})
	}
}
