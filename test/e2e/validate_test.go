package e2e

import (
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
)

// TestValidation_B70_TypedInformerKeepsSyncing: the reproduction of issue
// 14 (a pod named INVALID_Name with "containers":"notalist") is refused as
// kube-apiserver refuses it (the body does not decode: 400; the name alone:
// 422; a PUT that breaks the type: 400), nothing is stored, and a typed pod
// informer running through it sees the next valid pod, as does a new one
// listing from scratch.
func TestValidation_B70_TypedInformerKeepsSyncing(t *testing.T) {
	e := startEnv(t)
	pods := e.cs.CoreV1().Pods("e2e")
	newPod := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	}
	if _, err := pods.Create(t.Context(), newPod("before"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(e.cs, 0, informers.WithNamespace("e2e"))
	inf := factory.Core().V1().Pods().Informer()
	runInformer(t, inf)

	const path = "/api/v1/namespaces/e2e/pods"
	for _, c := range []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{http.MethodPost, path, `{"metadata":{"name":"INVALID_Name"},"spec":{"containers":"notalist"}}`, 400,
			`Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container`},
		{http.MethodPost, path, `{"metadata":{"name":"INVALID_Name"},"spec":{"containers":[]}}`, 422,
			`Pod \"INVALID_Name\" is invalid: metadata.name: Invalid value: \"INVALID_Name\": a lowercase RFC 1123 subdomain`},
		{http.MethodPut, path + "/before", `{"metadata":{"name":"before"},"spec":{"containers":"notalist"}}`, 400,
			`cannot unmarshal string into Go struct field PodSpec.spec.containers`},
	} {
		code, _, body := e.do(t, c.method, c.path, c.body)
		if code != c.code || !strings.Contains(body, c.msg) {
			t.Fatalf("%s %s: %d %s, want %d with %q", c.method, c.path, code, body, c.code, c.msg)
		}
	}
	if _, err := pods.Create(t.Context(), newPod("after"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the informer to see e2e/after", func() bool {
		_, ok, _ := inf.GetStore().GetByKey("e2e/after")
		return ok
	}, func() string { return strings.Join(inf.GetStore().ListKeys(), ",") })

	fresh := informers.NewSharedInformerFactoryWithOptions(e.cs, 0, informers.WithNamespace("e2e")).Core().V1().Pods().Informer()
	runInformer(t, fresh)
	if keys := fresh.GetStore().ListKeys(); len(keys) != 2 {
		t.Fatalf("a fresh typed informer lists %v, want e2e/before and e2e/after", keys)
	}
}
