package e2e

import (
	"context"
	"maps"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic/dynamicinformer"
	clientfeatures "k8s.io/client-go/features"
	clientfeaturestesting "k8s.io/client-go/features/testing"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// The client-go feature gate WatchListClient is read from the environment
// (KUBE_FEATURE_WatchListClient) once per process, on the first Enabled
// call, so t.Setenv cannot switch it between tests. client-go's own test
// helper (features/testing.SetFeatureDuringTest) overrides it for one test
// and restores it at cleanup; NewReflector reads the gate when the informer
// is created, so the override must precede that. Tests that override it
// must not run in parallel with each other.

// TestDynamicInformer_B33_WatchList: a dynamic informer on pods with
// WatchList (client-go's default) syncs from sendInitialEvents and the end
// bookmark with no LIST, then sees each later create, update and delete
// exactly once, with the RVs the writes returned.
func TestDynamicInformer_B33_WatchList(t *testing.T) {
	clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, true)
	testDynamicInformer(t, 0)
}

// TestDynamicInformer_B30_B31_ClassicListWatch: the same with WatchList off:
// one LIST (RV=0), then a watch from the list's RV.
func TestDynamicInformer_B30_B31_ClassicListWatch(t *testing.T) {
	clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, false)
	testDynamicInformer(t, 1)
}

func testDynamicInformer(t *testing.T, wantLists int) {
	e := startEnv(t)
	a := createPod(t, e.cs, "e2e", "a", "node-1")
	b := createPod(t, e.cs, "e2e", "b", "node-1")
	// A consistent read returns once the cache holds both pods, so that the
	// classic informer's RV=0 list (served from the cache as it is) has them.
	if _, err := e.dyn.Resource(podsGVR).Namespace("e2e").List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}

	lists := e.requests(t, "LIST", "pods")
	rec := newRecorder()
	inf := dynamicinformer.NewFilteredDynamicInformer(e.dyn, podsGVR, "", 0, cache.Indexers{}, nil).Informer()
	if _, err := inf.AddEventHandler(rec); err != nil {
		t.Fatal(err)
	}
	runInformer(t, inf)

	c := createPod(t, e.cs, "e2e", "c", "node-2")
	a2 := updatePod(t, e.cs, a, func(p *corev1.Pod) { p.Labels = map[string]string{"v": "2"} })
	bDel := e.deleteRV(t, "/api/v1/namespaces/e2e/pods/b")
	c2 := updatePod(t, e.cs, c, func(p *corev1.Pod) { p.Labels = map[string]string{"v": "2"} })

	want := map[string][]string{
		"e2e/a": {"+" + a.ResourceVersion, "~" + a2.ResourceVersion},
		"e2e/b": {"+" + b.ResourceVersion, "-" + bDel},
		"e2e/c": {"+" + c.ResourceVersion, "~" + c2.ResourceVersion},
	}
	waitFor(t, "6 events", func() bool { return rec.count() >= 6 }, func() string { return rec.diff(want) })
	if d := rec.diff(want); d != "" {
		t.Errorf("events:\n%s", d)
	}
	if rec.initial != 2 {
		t.Errorf("adds in the initial list: %d, want 2", rec.initial)
	}
	if got := e.requests(t, "LIST", "pods") - lists; got != wantLists {
		t.Errorf("LIST requests by the informer: %d, want %d", got, wantLists)
	}
	assertStoreEqualsServer(t, e, inf.GetStore())
}

// TestFieldSelectorInformer_MovesAreAddsAndDeletes_B40: a typed informer on pods with
// fieldSelector spec.nodeName=node-1 sees only that node's pods; a pod
// moved off the node is a delete (with the move's RV), one moved onto it an
// add, a change while on it an update, and pods elsewhere nothing.
func TestFieldSelectorInformer_MovesAreAddsAndDeletes_B40(t *testing.T) {
	e := startEnv(t)
	p1 := createPod(t, e.cs, "e2e", "p1", "node-1")
	p2 := createPod(t, e.cs, "e2e", "p2", "node-2")

	factory := informers.NewSharedInformerFactoryWithOptions(e.cs, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName=node-1" }))
	inf := factory.Core().V1().Pods().Informer()
	rec := newRecorder()
	if _, err := inf.AddEventHandler(rec); err != nil {
		t.Fatal(err)
	}
	runInformer(t, inf)

	p1b := updatePod(t, e.cs, p1, func(p *corev1.Pod) { p.Spec.NodeName = "node-2" })
	p2b := updatePod(t, e.cs, p2, func(p *corev1.Pod) { p.Spec.NodeName = "node-1" })
	createPod(t, e.cs, "e2e", "p3", "node-3")
	p2c := updatePod(t, e.cs, p2b, func(p *corev1.Pod) { p.Labels = map[string]string{"v": "2"} })
	p2Del := e.deleteRV(t, "/api/v1/namespaces/e2e/pods/p2")

	want := map[string][]string{
		"e2e/p1": {"+" + p1.ResourceVersion, "-" + p1b.ResourceVersion},
		"e2e/p2": {"+" + p2b.ResourceVersion, "~" + p2c.ResourceVersion, "-" + p2Del},
	}
	waitFor(t, "5 events", func() bool { return rec.count() >= 5 }, func() string { return rec.diff(want) })
	if d := rec.diff(want); d != "" {
		t.Errorf("events:\n%s", d)
	}
	if n := len(inf.GetStore().List()); n != 0 {
		t.Errorf("store holds %d pods, want 0", n)
	}
}

func createPod(t *testing.T, cs kubernetes.Interface, ns, name, node string) *corev1.Pod {
	t.Helper()
	p, err := cs.CoreV1().Pods(ns).Create(t.Context(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s/%s: %v", ns, name, err)
	}
	return p
}

// updatePod applies change to a copy of p and writes it with p's RV as the
// precondition.
func updatePod(t *testing.T, cs kubernetes.Interface, p *corev1.Pod, change func(*corev1.Pod)) *corev1.Pod {
	t.Helper()
	p = p.DeepCopy()
	change(p)
	out, err := cs.CoreV1().Pods(p.Namespace).Update(t.Context(), p, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update pod %s/%s: %v", p.Namespace, p.Name, err)
	}
	return out
}

// assertStoreEqualsServer compares an informer's pods store with a
// consistent list of pods from the server (names and RVs).
func assertStoreEqualsServer(t *testing.T, e *env, store cache.Store) {
	t.Helper()
	list, err := e.cs.CoreV1().Pods("").List(context.WithoutCancel(t.Context()), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, p := range list.Items {
		want[p.Namespace+"/"+p.Name] = p.ResourceVersion
	}
	if got := storeRVs(t, store); !maps.Equal(got, want) {
		t.Errorf("informer store %v, server list %v", got, want)
	}
}
