package e2e

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic/dynamicinformer"
	clientfeatures "k8s.io/client-go/features"
	clientfeaturestesting "k8s.io/client-go/features/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/upstream"
)

// TestUpstream_B170_InformerWatchList: a follower that lists its upstream
// through a WatchList serves a WatchList informer (client-go's default):
// the informer syncs with no LIST and sees every write made on the
// upstream with the upstream's RVs.
func TestUpstream_B170_InformerWatchList(t *testing.T) {
	clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, true)
	testUpstreamInformer(t, upstream.WatchListOn, 0)
}

// TestUpstream_B170_InformerClassic: the same with paged LISTs to the
// upstream and a classic list+watch informer (one LIST on the follower).
func TestUpstream_B170_InformerClassic(t *testing.T) {
	clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, false)
	testUpstreamInformer(t, upstream.WatchListOff, 1)
}

func testUpstreamInformer(t *testing.T, watchList string, wantLists int) {
	up := startEnv(t)
	a := createPod(t, up.cs, "e2e", "a", "node-1")
	b := createPod(t, up.cs, "e2e", "b", "node-1")
	f := startFollower(t, up.url, func(c *app.Config) { c.UpstreamWatchList = watchList })
	// A consistent read on the follower returns once its cache holds both.
	if l, err := f.dyn.Resource(podsGVR).Namespace("e2e").List(context.Background(), metav1.ListOptions{}); err != nil || len(l.Items) != 2 {
		t.Fatalf("follower list: %v items, err %v", l, err)
	}

	lists := f.requests(t, "LIST", "pods")
	rec := newRecorder()
	inf := dynamicinformer.NewFilteredDynamicInformer(f.dyn, podsGVR, "", 0, cache.Indexers{}, nil).Informer()
	if _, err := inf.AddEventHandler(rec); err != nil {
		t.Fatal(err)
	}
	runInformer(t, inf)

	c := createPod(t, up.cs, "e2e", "c", "node-2")
	a2 := updatePod(t, up.cs, a, func(p *corev1.Pod) { p.Labels = map[string]string{"v": "2"} })
	bDel := up.deleteRV(t, "/api/v1/namespaces/e2e/pods/b")
	c2 := updatePod(t, up.cs, c, func(p *corev1.Pod) { p.Labels = map[string]string{"v": "2"} })

	want := map[string][]string{
		"e2e/a": {"+" + a.ResourceVersion, "~" + a2.ResourceVersion},
		"e2e/b": {"+" + b.ResourceVersion, "-" + bDel},
		"e2e/c": {"+" + c.ResourceVersion, "~" + c2.ResourceVersion},
	}
	waitFor(t, "6 events", func() bool { return rec.count() >= 6 }, func() string { return rec.diff(want) })
	if d := rec.diff(want); d != "" {
		t.Errorf("events:\n%s", d)
	}
	if got := f.requests(t, "LIST", "pods") - lists; got != wantLists {
		t.Errorf("LIST requests by the informer: %d, want %d", got, wantLists)
	}
	assertStoreEqualsServer(t, up, inf.GetStore())
}
