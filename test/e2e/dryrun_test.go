package e2e

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// createKeep creates configmap e2e/keep and returns it.
func createKeep(t *testing.T, e *env) *corev1.ConfigMap {
	t.Helper()
	cm, err := e.cs.CoreV1().ConfigMaps("e2e").Create(t.Context(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keep"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

// stillThere fails unless e2e/keep is as it was created.
func stillThere(t *testing.T, e *env, want *corev1.ConfigMap) {
	t.Helper()
	got, err := e.cs.CoreV1().ConfigMaps("e2e").Get(t.Context(), "keep", metav1.GetOptions{})
	if err != nil || got.ResourceVersion != want.ResourceVersion || got.Data["k"] != "v" {
		t.Fatalf("GET after the dry run: %v, %v (want RV %s)", got, err, want.ResourceVersion)
	}
}

// etcdRevision is the current revision of the daemon's etcd.
func etcdRevision(t *testing.T, e *env) int64 {
	t.Helper()
	resp, err := e.etcd.Get(t.Context(), "/none")
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// TestDryRun_B211_KubectlServer: `kubectl ... --dry-run=server` of a
// delete (dryRun in the DeleteOptions body), a label (a patch), a create
// and an apply answer as the real commands do, marked "(server dry run)",
// and etcd's revision does not move.
func TestDryRun_B211_KubectlServer(t *testing.T) {
	forEachKubectlEnv(t, func(t *testing.T, e *env, k *kubectl) {
		cm := createKeep(t, e)
		rev := etcdRevision(t, e)
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"delete", "configmap", "keep", "-n", "e2e", "--dry-run=server"}, k.deleted("configmap", "keep", "e2e", " (server dry run)")},
			{[]string{"label", "configmap", "keep", "-n", "e2e", "x=y", "--dry-run=server"}, "configmap/keep labeled (server dry run)\n"},
			{[]string{"create", "configmap", "other", "-n", "e2e", "--dry-run=server"}, "configmap/other created (server dry run)\n"},
			{[]string{"create", "configmap", "keep", "-n", "e2e", "--from-literal=k=v", "--dry-run=server", "-o", "jsonpath={.data.k} {.metadata.resourceVersion}"}, ""},
		} {
			if c.want == "" { // the name is taken: kubectl reports the 409
				ctx := t.Context()
				out, err := k.command(ctx, c.args...).CombinedOutput()
				if err == nil || !strings.Contains(string(out), `configmaps "keep" already exists`) {
					t.Errorf("kubectl %s: %v %s", strings.Join(c.args, " "), err, out)
				}
				continue
			}
			if out := k.run(t, "", c.args...); out != c.want {
				t.Errorf("kubectl %s: %q, want %q", strings.Join(c.args, " "), out, c.want)
			}
		}
		if got := etcdRevision(t, e); got != rev {
			t.Fatalf("dry runs moved etcd from %d to %d", rev, got)
		}
		stillThere(t, e, cm)
		if _, err := e.cs.CoreV1().ConfigMaps("e2e").Get(t.Context(), "other", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("dry-run create stored an object: %v", err)
		}
	})
}

// TestDryRun_B211_TypedDelete: client-go's typed Delete with DryRun (a
// protobuf DeleteOptions body) succeeds and deletes nothing.
func TestDryRun_B211_TypedDelete(t *testing.T) {
	e := startEnv(t)
	cm := createKeep(t, e)
	if err := e.cs.CoreV1().ConfigMaps("e2e").Delete(t.Context(), "keep", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("typed Delete with DryRun: %v", err)
	}
	stillThere(t, e, cm)
}
