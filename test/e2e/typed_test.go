package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic/dynamicinformer"
	clientfeatures "k8s.io/client-go/features"
	clientfeaturestesting "k8s.io/client-go/features/testing"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// kindWriter writes objects of one resource and records, per object, the
// sequence of events an informer must see ("+RV", "~RV", "-RV"). It is
// used by one goroutine.
type kindWriter struct {
	name     string                   // resource, e.g. "deployments.apps"
	listPath string                   // cluster-wide list path
	objPath  func(name string) string // object path, for DELETE
	create   func(context.Context, string) (string, error)
	update   func(context.Context, string, int) (string, error)
	want     map[string][]string      // per key
	key      func(name string) string // informer key of name
	live     []string                 // names that exist
	next     int                      // suffix of the next name
}

// typedClient is the part of a typed (or adapted dynamic) client the
// writers use.
type typedClient[T runtime.Object] interface {
	Create(context.Context, T, metav1.CreateOptions) (T, error)
	Update(context.Context, T, metav1.UpdateOptions) (T, error)
}

// newKindWriter builds a writer over c; newObj makes a fresh object named
// name; ns is "" for cluster-scoped resources.
func newKindWriter[T interface {
	runtime.Object
	metav1.Object
}](name, apiPrefix, resource, ns string, c typedClient[T], newObj func(string) T) *kindWriter {
	last := map[string]T{}
	w := &kindWriter{name: name, want: map[string][]string{}, listPath: apiPrefix + "/" + resource}
	w.key = func(n string) string { return n }
	w.objPath = func(n string) string { return apiPrefix + "/" + resource + "/" + n }
	if ns != "" {
		w.key = func(n string) string { return ns + "/" + n }
		w.objPath = func(n string) string { return apiPrefix + "/namespaces/" + ns + "/" + resource + "/" + n }
	}
	w.create = func(ctx context.Context, n string) (string, error) {
		o, err := c.Create(ctx, newObj(n), metav1.CreateOptions{})
		if err != nil {
			return "", err
		}
		last[n] = o
		return o.GetResourceVersion(), nil
	}
	w.update = func(ctx context.Context, n string, i int) (string, error) {
		o := last[n].DeepCopyObject().(T)
		o.SetLabels(map[string]string{"write": strconv.Itoa(i)})
		o, err := c.Update(ctx, o, metav1.UpdateOptions{})
		if err != nil {
			return "", err
		}
		last[n] = o
		return o.GetResourceVersion(), nil
	}
	return w
}

// dynamicAdapter makes a dynamic resource client look like a typed one.
type dynamicAdapter struct {
	c interface {
		Create(context.Context, *unstructured.Unstructured, metav1.CreateOptions, ...string) (*unstructured.Unstructured, error)
		Update(context.Context, *unstructured.Unstructured, metav1.UpdateOptions, ...string) (*unstructured.Unstructured, error)
	}
}

func (a dynamicAdapter) Create(ctx context.Context, o *unstructured.Unstructured, opts metav1.CreateOptions) (*unstructured.Unstructured, error) {
	return a.c.Create(ctx, o, opts)
}

func (a dynamicAdapter) Update(ctx context.Context, o *unstructured.Unstructured, opts metav1.UpdateOptions) (*unstructured.Unstructured, error) {
	return a.c.Update(ctx, o, opts)
}

// writers returns one writer per resource under test: the typed clientset
// (default content types, so protobuf bodies) for built-ins, the dynamic
// client for widgets.
func writers(e *env) []*kindWriter {
	const ns = "e2e"
	meta := func(n string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: n} }
	return []*kindWriter{
		newKindWriter("pods", "/api/v1", "pods", ns, e.cs.CoreV1().Pods(ns), func(n string) *corev1.Pod {
			return &corev1.Pod{ObjectMeta: meta(n), Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		}),
		newKindWriter("configmaps", "/api/v1", "configmaps", ns, e.cs.CoreV1().ConfigMaps(ns), func(n string) *corev1.ConfigMap {
			return &corev1.ConfigMap{ObjectMeta: meta(n), Data: map[string]string{"k": n}}
		}),
		newKindWriter("namespaces", "/api/v1", "namespaces", "", e.cs.CoreV1().Namespaces(), func(n string) *corev1.Namespace {
			return &corev1.Namespace{ObjectMeta: meta(n)}
		}),
		newKindWriter("nodes", "/api/v1", "nodes", "", e.cs.CoreV1().Nodes(), func(n string) *corev1.Node {
			return &corev1.Node{ObjectMeta: meta(n), Spec: corev1.NodeSpec{PodCIDR: "10.0.0.0/24"}}
		}),
		newKindWriter("deployments.apps", "/apis/apps/v1", "deployments", ns, e.cs.AppsV1().Deployments(ns), func(n string) *appsv1.Deployment {
			return &appsv1.Deployment{ObjectMeta: meta(n), Spec: appsv1.DeploymentSpec{Paused: true}}
		}),
		newKindWriter("widgets.example.com", "/apis/example.com/v1", "widgets", ns,
			typedClient[*unstructured.Unstructured](dynamicAdapter{e.dyn.Resource(widgetsGVR).Namespace(ns)}),
			func(n string) *unstructured.Unstructured {
				return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
					"metadata": map[string]any{"name": n}, "spec": map[string]any{"size": int64(3)}}}
			}),
	}
}

// run makes n writes: creates, updates and deletes in a seeded random mix
// over a small set of live objects, recording what informers must see.
func (w *kindWriter) run(t *testing.T, e *env, seed uint64, n int) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range n {
		r := rng.IntN(10)
		switch {
		case len(w.live) < 3 || r < 4:
			name := fmt.Sprintf("%s-%d", strings.Split(w.name, ".")[0], w.next)
			w.next++
			rv, err := w.create(ctx, name)
			if err != nil {
				t.Errorf("%s: create %s: %v", w.name, name, err)
				return
			}
			w.live = append(w.live, name)
			w.want[w.key(name)] = append(w.want[w.key(name)], "+"+rv)
		case r < 8:
			name := w.live[rng.IntN(len(w.live))]
			rv, err := w.update(ctx, name, i)
			if err != nil {
				t.Errorf("%s: update %s: %v", w.name, name, err)
				return
			}
			w.want[w.key(name)] = append(w.want[w.key(name)], "~"+rv)
		default:
			j := rng.IntN(len(w.live))
			name := w.live[j]
			w.live = slices.Delete(w.live, j, j+1)
			w.want[w.key(name)] = append(w.want[w.key(name)], "-"+e.deleteRV(t, w.objPath(name)))
		}
	}
}

// total is the number of events the writer's informer must see.
func (w *kindWriter) total() int {
	n := 0
	for _, s := range w.want {
		n += len(s)
	}
	return n
}

// TestInformers_B41_TypedFactoryAndCustomResource: a typed
// SharedInformerFactory (pods, configmaps, namespaces, nodes, deployments)
// and a dynamic informer for the custom resource widgets.example.com sync
// over existing objects, then follow 1,000 creates, updates and deletes made
// concurrently through the typed clientset (protobuf bodies) and the dynamic
// client. At the end each informer's store equals the server's list and
// its handler saw every change of every object exactly once, in order, with
// the RVs the writes returned (B41: no gap, no duplicate).
func TestInformers_B41_TypedFactoryAndCustomResource(t *testing.T) {
	e := startEnv(t)
	ws := writers(e)
	for i, w := range ws { // objects that exist before the informers start
		w.run(t, e, uint64(100+i), 3)
	}

	factory := informers.NewSharedInformerFactory(e.cs, 0)
	dynFactory := dynamicinformer.NewDynamicSharedInformerFactory(e.dyn, 0)
	infs := []cache.SharedIndexInformer{
		factory.Core().V1().Pods().Informer(),
		factory.Core().V1().ConfigMaps().Informer(),
		factory.Core().V1().Namespaces().Informer(),
		factory.Core().V1().Nodes().Informer(),
		factory.Apps().V1().Deployments().Informer(),
		dynFactory.ForResource(widgetsGVR).Informer(),
	}
	recs := make([]*recorder, len(infs))
	for i, inf := range infs {
		recs[i] = newRecorder()
		if _, err := inf.AddEventHandler(recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	factory.Start(stop)
	dynFactory.Start(stop)
	t.Cleanup(func() {
		close(stop)
		factory.Shutdown()
		dynFactory.Shutdown()
	})
	for i, inf := range infs {
		if !cache.WaitForCacheSync(t.Context().Done(), inf.HasSynced) {
			t.Fatalf("%s informer did not sync", ws[i].name)
		}
	}

	const writes = 1000
	var wg sync.WaitGroup
	for i, w := range ws {
		n := writes / len(ws)
		if i < writes%len(ws) {
			n++
		}
		wg.Go(func() { w.run(t, e, uint64(i), n) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	total := 0
	for _, w := range ws {
		total += w.total()
	}
	if total != writes+3*len(ws) {
		t.Fatalf("recorded %d writes, want %d", total, writes+3*len(ws))
	}
	for i, w := range ws {
		waitFor(t, w.name+" events", func() bool { return recs[i].count() >= w.total() },
			func() string { return recs[i].diff(w.want) })
		if d := recs[i].diff(w.want); d != "" {
			t.Errorf("%s events:\n%s", w.name, d)
		}
		if got, want := storeRVs(t, infs[i].GetStore()), serverRVs(t, e, w.listPath); !maps.Equal(got, want) {
			t.Errorf("%s: informer store %v\nserver list %v", w.name, got, want)
		}
	}
}

// serverRVs lists path with a consistent read and maps each item's key to
// its RV.
func serverRVs(t *testing.T, e *env, path string) map[string]string {
	t.Helper()
	code, _, body := e.do(t, http.MethodGet, path, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var list struct {
		Items []struct {
			Metadata struct{ Namespace, Name, ResourceVersion string } `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, it := range list.Items {
		key := it.Metadata.Name
		if it.Metadata.Namespace != "" {
			key = it.Metadata.Namespace + "/" + key
		}
		out[key] = it.Metadata.ResourceVersion
	}
	return out
}

// TestWatchListClient_B33_NoList: with WatchListClient on, a typed pods
// informer syncs through one watch request with sendInitialEvents and the
// end bookmark: no LIST request reaches the server (from /metrics), one
// watch stream is open while it runs, and that WATCH is counted when the
// informer stops.
func TestWatchListClient_B33_NoList(t *testing.T) {
	clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, true)
	e := startEnv(t)
	for i := range 20 {
		createPod(t, e.cs, "e2e", fmt.Sprintf("p%02d", i), "node-1")
	}
	var mu sync.Mutex
	var queries []string // guarded by mu
	cfg := rest.CopyConfig(e.cfg)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			queries = append(queries, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
			mu.Unlock()
			return rt.RoundTrip(r)
		})
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lists, watches := e.requests(t, "LIST", "pods"), e.requests(t, "WATCH", "pods")

	factory := informers.NewSharedInformerFactory(cs, 0)
	inf := factory.Core().V1().Pods().Informer()
	stop := make(chan struct{})
	factory.Start(stop)
	stopped := false
	shutdown := func() {
		if !stopped {
			stopped = true
			close(stop)
			factory.Shutdown()
		}
	}
	t.Cleanup(shutdown)
	if !cache.WaitForCacheSync(t.Context().Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	if n := len(inf.GetStore().List()); n != 20 {
		t.Errorf("store holds %d pods, want 20", n)
	}
	if got := e.metric(t, "watchcached_http_watchers", `resource="pods"`); got != 1 {
		t.Errorf("open pods watches: %d, want 1", got)
	}
	shutdown()
	waitFor(t, "the WATCH to be counted", func() bool { return e.requests(t, "WATCH", "pods") == watches+1 },
		func() string { return fmt.Sprint(e.requests(t, "WATCH", "pods")-watches, " watches") })
	if got := e.requests(t, "LIST", "pods"); got != lists {
		t.Errorf("LIST requests: %d, want none", got-lists)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(queries) != 1 {
		t.Fatalf("requests of the informer: %q, want one watch", queries)
	}
	path, rawQuery, _ := strings.Cut(queries[0], "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		t.Fatal(err)
	}
	if path != "GET /api/v1/pods" || q.Get("watch") != "true" || q.Get("sendInitialEvents") != "true" ||
		q.Get("resourceVersionMatch") != "NotOlderThan" || q.Get("allowWatchBookmarks") != "true" ||
		q.Has("resourceVersion") || q.Has("limit") {
		t.Errorf("the informer's request: %q", queries[0])
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
