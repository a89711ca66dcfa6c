package watchcachedtest_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcachedtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStart_KubeCatalogue: the default environment serves the kube
// catalogue with writes stored: a typed client creates a namespace, a
// pod and a lease, lists and watches them, and the watch sees the
// pod's update at the RV the update answered.
func TestStart_KubeCatalogue(t *testing.T) {
	cfg := watchcachedtest.Start(t, watchcachedtest.Options{})
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}
	created, err := cs.CoreV1().Pods("team").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	holder := "me"
	if _, err := cs.CoordinationV1().Leases("team").Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "lock"}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create lease: %v", err)
	}
	w, err := cs.CoreV1().Pods("team").Watch(ctx, metav1.ListOptions{ResourceVersion: created.ResourceVersion})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	created.Labels = map[string]string{"app": "web"}
	updated, err := cs.CoreV1().Pods("team").Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update pod: %v", err)
	}
	select {
	case ev := <-w.ResultChan():
		got, ok := ev.Object.(*corev1.Pod)
		if ev.Type != watch.Modified || !ok || got.ResourceVersion != updated.ResourceVersion || got.Labels["app"] != "web" {
			t.Fatalf("watch event = %s %#v, want MODIFIED web at RV %s", ev.Type, ev.Object, updated.ResourceVersion)
		}
	case <-ctx.Done():
		t.Fatal("no watch event")
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Name != "web" {
		t.Fatalf("list pods = %v, %v; want [web]", pods, err)
	}
	leases, err := cs.CoordinationV1().Leases("team").List(ctx, metav1.ListOptions{})
	if err != nil || len(leases.Items) != 1 || *leases.Items[0].Spec.HolderIdentity != "me" {
		t.Fatalf("list leases = %v, %v; want [lock held by me]", leases, err)
	}
}

// TestStart_GivenResources: Options.Resources replaces the catalogue, so
// a resource outside it answers 404.
func TestStart_GivenResources(t *testing.T) {
	cfg := watchcachedtest.Start(t, watchcachedtest.Options{Resources: []*api.Resource{
		{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true},
	}})
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := t.Context()
	if _, err := cs.CoreV1().ConfigMaps("a").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create configmap: %v", err)
	}
	_, err := cs.CoreV1().Pods("a").List(ctx, metav1.ListOptions{})
	if err == nil || err.Error() != "the server could not find the requested resource" {
		t.Fatalf("list pods error = %v, want the NotFound of an unserved resource", err)
	}
}
