package e2e

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLifecycle_B101_KubectlFinalizer: `kubectl delete` of a configmap
// with a finalizer returns and the configmap stays, marked with
// deletionTimestamp; the merge patch that removes its finalizers deletes
// it. Generation is 1 from the create (B100).
func TestLifecycle_B101_KubectlFinalizer(t *testing.T) {
	e := startEnv(t)
	k := newKubectl(t, e.url)
	cms := e.cs.CoreV1().ConfigMaps("e2e")
	_, err := cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "fin",
		Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out := k.run(t, "", "delete", "configmap", "fin", "-n", "e2e", "--wait=false"); out != "configmap \"fin\" deleted\n" {
		t.Errorf("delete: %q", out)
	}
	got, err := cms.Get(t.Context(), "fin", metav1.GetOptions{})
	if err != nil || got.DeletionTimestamp == nil || got.DeletionGracePeriodSeconds == nil || *got.DeletionGracePeriodSeconds != 0 ||
		len(got.Finalizers) != 1 || got.Generation != 1 {
		t.Fatalf("after delete: %v %+v", err, got)
	}
	if out := k.run(t, "", "patch", "configmap", "fin", "-n", "e2e", "--type", "merge",
		"-p", `{"metadata":{"finalizers":null}}`); out != "configmap/fin patched\n" {
		t.Errorf("patch: %q", out)
	}
	if _, err := cms.Get(t.Context(), "fin", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after the finalizer went: %v", err)
	}
}

// TestLifecycle_B102_TypedDeleteCollection: client-go's DeleteCollection
// with a label selector deletes exactly the selected configmaps.
func TestLifecycle_B102_TypedDeleteCollection(t *testing.T) {
	e := startEnv(t)
	cms := e.cs.CoreV1().ConfigMaps("e2e")
	for name, app := range map[string]string{"a": "x", "b": "x", "c": "y"} {
		_, err := cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{"app": app}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	bg := metav1.DeletePropagationBackground
	if err := cms.DeleteCollection(t.Context(), metav1.DeleteOptions{PropagationPolicy: &bg},
		metav1.ListOptions{LabelSelector: "app=x"}); err != nil {
		t.Fatal(err)
	}
	left, err := cms.List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Items) != 1 || left.Items[0].Name != "c" {
		t.Fatalf("left after deletecollection: %+v", left.Items)
	}
}
