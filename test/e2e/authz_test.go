package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/cmd/watchcached/app"
)

// e2ePolicy lets alice read and create pods in namespace a, nothing more.
const e2ePolicy = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pods, namespace: a}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list, watch, create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-pods, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pods}
subjects: [{kind: User, name: alice}]
`

// TestAuthz_B110_ClientGo: client-go with two tokens against a daemon
// with --authorization-policy-file: alice creates, gets, lists and
// watches pods in a; cluster-wide and in another namespace she gets
// kube-apiserver's 403, and bob is refused everywhere.
func TestAuthz_B110_ClientGo(t *testing.T) {
	dir := t.TempDir()
	tokens, policy := filepath.Join(dir, "tokens.csv"), filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(tokens, []byte("alice-e2e-t0ken,alice,1\nbob-e2e-t0ken,bob,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(policy, []byte(e2ePolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEnv(t, func(c *app.Config) {
		c.Auth = app.AuthConfig{TokenAuthFile: tokens, AuthorizationPolicyFile: policy}
	})
	base := rest.Config{Host: "http://" + e.d.HTTPAddr, QPS: -1}
	asAlice, asBob := base, base
	asAlice.BearerToken, asBob.BearerToken = "alice-e2e-t0ken", "bob-e2e-t0ken"
	alice, bob := tlsClient(t, &asAlice), tlsClient(t, &asBob)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()

	w, err := alice.CoreV1().Pods("a").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("alice watch in a: %v", err)
	}
	defer w.Stop()
	created, err := alice.CoreV1().Pods("a").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("alice create in a: %v", err)
	}
	expectPodAdded(ctx, t, w, created)
	if got, err := alice.CoreV1().Pods("a").Get(ctx, "p1", metav1.GetOptions{}); err != nil || got.ResourceVersion != created.ResourceVersion {
		t.Errorf("alice get: %v %v", got, err)
	}
	if l, err := alice.CoreV1().Pods("a").List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 1 {
		t.Errorf("alice list: %v %v", l, err)
	}

	forbidden := func(msg, name string) metav1.Status {
		return metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
			Message: msg, Reason: metav1.StatusReasonForbidden, Code: http.StatusForbidden,
			Details: &metav1.StatusDetails{Kind: "pods", Name: name}}
	}
	for _, c := range []struct {
		what string
		call func() error
		want metav1.Status
	}{
		{"alice cluster-wide list", func() error { _, err := alice.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); return err },
			forbidden(`pods is forbidden: User "alice" cannot list resource "pods" in API group "" at the cluster scope`, "")},
		{"alice cluster-wide watch", func() error { _, err := alice.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{}); return err },
			forbidden(`pods is forbidden: User "alice" cannot watch resource "pods" in API group "" at the cluster scope`, "")},
		{"alice list in b", func() error { _, err := alice.CoreV1().Pods("b").List(ctx, metav1.ListOptions{}); return err },
			forbidden(`pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "b"`, "")},
		{"alice delete in a", func() error { return alice.CoreV1().Pods("a").Delete(ctx, "p1", metav1.DeleteOptions{}) },
			forbidden(`pods "p1" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "a"`, "p1")},
		{"bob get in a", func() error { _, err := bob.CoreV1().Pods("a").Get(ctx, "p1", metav1.GetOptions{}); return err },
			forbidden(`pods "p1" is forbidden: User "bob" cannot get resource "pods" in API group "" in the namespace "a"`, "p1")},
	} {
		var se *apierrors.StatusError
		if err := c.call(); !errors.As(err, &se) || se.ErrStatus.String() != c.want.String() {
			t.Errorf("%s: %v\nwant %v", c.what, err, c.want.String())
		}
	}
	if _, err := bob.Discovery().ServerVersion(); err != nil {
		t.Errorf("bob /version (default policy): %v", err)
	}
}
