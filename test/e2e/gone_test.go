package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	clientfeatures "k8s.io/client-go/features"
	clientfeaturestesting "k8s.io/client-go/features/testing"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
	"github.com/watchcached/watchcached/internal/testkit"
	"github.com/watchcached/watchcached/server"
	"github.com/watchcached/watchcached/watchcache"
)

// ringSize is the event history of the small-ring server: a few dozen
// writes overtake it.
const ringSize = 16

// startSmallRing serves pods through a cacher whose ring holds ringSize
// events, on its own etcd: app.Config has no knob for the ring, so the test
// assembles etcdstore, cacher and server itself.
func startSmallRing(t *testing.T) *env {
	t.Helper()
	etcd := etcdtest.Start(t)
	log := slog.New(slog.DiscardHandler)
	res := testkit.Pods()
	store := testkit.Store(t, etcd, res, log)
	c, err := cacher.New(cacher.Config{Source: store, Logger: log,
		WatchCache: watchcache.Config{MinCapacity: ringSize, MaxCapacity: ringSize}})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(c.Close)
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Storages: []api.Storage{c}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.CloseWatches()
		hs.Close()
	})
	return newEnv(t, nil, hs.URL, []string{etcd.Endpoint})
}

// churnPod updates pod n times and compacts etcd at the last revision, so
// that both the ring and etcd's history are past any RV before the churn.
// The cache has applied every update when it returns (a consistent read
// waits for that), so the ring's oldest event is known exactly.
func churnPod(t *testing.T, e *env, pod *corev1.Pod, n int) *corev1.Pod {
	t.Helper()
	for i := range n {
		pod = updatePod(t, e.cs, pod, func(p *corev1.Pod) { p.Labels = map[string]string{"i": fmt.Sprint(i)} })
	}
	// Sync before compacting: a cache watch still behind the compacted
	// revision would be cancelled by etcd and relist (B61), which changes
	// the ring's oldest RV that the tests check exactly.
	if _, err := e.cs.CoreV1().Pods(pod.Namespace).Get(t.Context(), pod.Name, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.etcd.Compact(t.Context(), mustRV(t, pod.ResourceVersion)); err != nil {
		t.Fatal(err)
	}
	return pod
}

func mustRV(t *testing.T, s string) int64 {
	t.Helper()
	rv, err := api.ParseRV("resourceVersion", s)
	if err != nil {
		t.Fatal(err)
	}
	return int64(rv)
}

// TestGone_B32_WatchFromOverwrittenRV: a client-go watch from an RV the
// ring and etcd have both left behind gets exactly one ERROR event whose
// Status is 410 Expired "too old resource version: n (m)" (what the
// reflector checks with apierrors.IsResourceExpired / IsGone), then the
// result channel closes.
func TestGone_B32_WatchFromOverwrittenRV(t *testing.T) {
	e := startSmallRing(t)
	p := createPod(t, e.cs, "e2e", "a", "node-1")
	last := churnPod(t, e, p, 3*ringSize)

	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	w, err := e.cs.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{ResourceVersion: p.ResourceVersion})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	var evs []watch.Event
	for ev := range w.ResultChan() {
		evs = append(evs, ev)
	}
	if len(evs) != 1 || evs[0].Type != watch.Error {
		t.Fatalf("events: %+v, want one ERROR", evs)
	}
	st, ok := evs[0].Object.(*metav1.Status)
	if !ok {
		t.Fatalf("ERROR object %T, want *metav1.Status", evs[0].Object)
	}
	// The oldest RV the ring can still start from is one below its oldest
	// event; the ring holds the last ringSize updates.
	oldest := mustRV(t, last.ResourceVersion) - ringSize
	want := fmt.Sprintf("too old resource version: %s (%d)", p.ResourceVersion, oldest)
	if st.Code != 410 || st.Reason != metav1.StatusReasonExpired || st.Message != want || st.Status != metav1.StatusFailure {
		t.Errorf("status %+v, want 410 Expired %q", st, want)
	}
	if err := apierrors.FromObject(st); !apierrors.IsResourceExpired(err) || !apierrors.IsGone(err) && st.Code != 410 {
		t.Errorf("client-go does not see an expired RV in %v", err)
	}
}

// TestGone_B32_B41_InformerRelists: an informer whose watch ends (the
// first watch has timeoutSeconds=1) reconnects from its last RV only after
// the ring has been overtaken and etcd compacted past it. The server
// answers 410; the reflector relists (classic: a LIST not older than its
// last RV; WatchList: a watch with sendInitialEvents from that RV) and its
// store ends equal to the server's state, with every handler event
// consistent with it.
func TestGone_B32_B41_InformerRelists(t *testing.T) {
	for _, watchList := range []bool{false, true} {
		t.Run(fmt.Sprintf("WatchList=%v", watchList), func(t *testing.T) {
			clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, watchList)
			testInformerRelists(t, watchList)
		})
	}
}

func testInformerRelists(t *testing.T, watchList bool) {
	e := startSmallRing(t)
	a := createPod(t, e.cs, "e2e", "a", "node-1")
	b := createPod(t, e.cs, "e2e", "b", "node-1")

	gate, waiting := make(chan struct{}), make(chan struct{})
	lw, calls := gatedListWatch(e.cs, gate, waiting)
	inf := cache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, cache.Indexers{})
	rec := newRecorder()
	if _, err := inf.AddEventHandler(rec); err != nil {
		t.Fatal(err)
	}
	runInformer(t, inf)
	select { // the first watch ended; the reflector waits to reconnect
	case <-waiting:
	case <-t.Context().Done():
	}
	lastRV := inf.LastSyncResourceVersion()

	// While the informer is disconnected: churn past the ring and compact,
	// delete b, create c.
	a2 := churnPod(t, e, a, 3*ringSize)
	e.deleteRV(t, "/api/v1/namespaces/e2e/pods/b")
	c := createPod(t, e.cs, "e2e", "c", "node-2")
	close(gate)

	want := map[string][]string{
		"e2e/a": {"+" + a.ResourceVersion, "~" + a2.ResourceVersion},
		// A delete learnt from a relist has no final state: client-go hands
		// the handler a DeletedFinalStateUnknown tombstone.
		"e2e/b": {"+" + b.ResourceVersion, "-?"},
		"e2e/c": {"+" + c.ResourceVersion},
	}
	waitFor(t, "the informer to relist", func() bool { return rec.count() >= 5 }, func() string { return rec.diff(want) + "\n" + strings.Join(calls(), "\n") })
	if d := rec.diff(want); d != "" {
		t.Errorf("events:\n%s\nrequests:\n%s", d, strings.Join(calls(), "\n"))
	}
	assertStoreEqualsServer(t, e, inf.GetStore())

	got := calls()
	first := 1 // classic: LIST, then the first watch
	if watchList {
		first = 0 // the first watch lists
	}
	if len(got) < first+3 {
		t.Fatalf("requests: %q", got)
	}
	wantAfter := "WATCH rv=" + lastRV + " sie=false"
	relist := "LIST rv=" + lastRV
	if watchList {
		relist = "WATCH rv=" + lastRV + " sie=true"
	}
	if got[first+1] != wantAfter || got[first+2] != relist {
		t.Errorf("requests %q: want the reconnect %q, then the relist %q", got, wantAfter, relist)
	}
}

// gatedListWatch lists and watches pods through cs, recording each call as
// "LIST rv=R" or "WATCH rv=R sie=B". The first watch gets timeoutSeconds=1
// so it ends soon; the second closes waiting, then waits for gate to close.
func gatedListWatch(cs kubernetes.Interface, gate <-chan struct{}, waiting chan<- struct{}) (*cache.ListWatch, func() []string) {
	var mu sync.Mutex
	var calls []string // guarded by mu
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, s)
	}
	var watches atomic.Int32
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			note("LIST rv=" + o.ResourceVersion)
			return cs.CoreV1().Pods("").List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			switch watches.Add(1) {
			case 1:
				one := int64(1)
				o.TimeoutSeconds = &one
			case 2:
				close(waiting)
				select {
				case <-gate:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			sie := o.SendInitialEvents != nil && *o.SendInitialEvents
			note(fmt.Sprintf("WATCH rv=%s sie=%v", o.ResourceVersion, sie))
			return cs.CoreV1().Pods("").Watch(ctx, o)
		},
	}
	return lw, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), calls...)
	}
}
