package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/kubeproto"
)

// kubeSerializer is apimachinery's protobuf serializer, the reference for
// the bytes the server writes.
var kubeSerializer = protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)

// protoClientset is a typed clientset that sends and accepts protobuf
// only; it records the Content-Type of every response as "METHOD path?watch
// -> type".
func protoClientset(t *testing.T, url string) (*kubernetes.Clientset, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string // guarded by mu
	cfg := &rest.Config{Host: url, ContentConfig: rest.ContentConfig{ContentType: kubeproto.MediaType, AcceptContentTypes: kubeproto.MediaType},
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				resp, err := rt.RoundTrip(r)
				if err == nil {
					what := "GET"
					if r.URL.Query().Get("watch") == "true" {
						what = "WATCH"
					}
					mu.Lock()
					got = append(got, what+" "+resp.Header.Get("Content-Type"))
					mu.Unlock()
				}
				return resp, err
			})
		}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// TestProtobufClientset_B183: client-go's typed clientset asking for
// protobuf only gets, lists and watches pods (every response protobuf, a
// watch as a stream=watch of frames its streaming decoder reads: ADDED,
// MODIFIED, DELETED at their RVs), and an informer over it syncs and
// follows a later create.
func TestProtobufClientset_B183(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := add(t, f.pods, "ns1", "a", map[string]string{"app": "web"})
	b := add(t, f.pods, "ns1", "b", nil)
	cs, types := protoClientset(t, f.ts.URL)
	ctx := t.Context()

	got, err := cs.CoreV1().Pods("ns1").Get(ctx, "a", metav1.GetOptions{})
	if err != nil || got.Name != "a" || got.Labels["app"] != "web" || got.ResourceVersion != itoa(int(a.RV)) {
		t.Fatalf("get: %v %+v", err, got.ObjectMeta)
	}
	list, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 2 || list.Items[1].Name != "b" || list.Items[1].ResourceVersion != itoa(int(b.RV)) {
		t.Fatalf("list: %v %+v", err, list)
	}
	w, err := cs.CoreV1().Pods("ns1").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	c := add(t, f.pods, "ns1", "c", nil)
	deleted, err := f.pods.Delete(ctx, "ns1", "a", api.Preconditions{})
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for len(events) < 2 {
		select {
		case ev := <-w.ResultChan():
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				t.Fatalf("event %s of %T", ev.Type, ev.Object)
			}
			events = append(events, string(ev.Type)+" "+p.Name+"@"+p.ResourceVersion)
		case <-time.After(5 * time.Second):
			t.Fatalf("events so far %q", events)
		}
	}
	if want := []string{"ADDED c@" + itoa(int(c.RV)), "DELETED a@" + itoa(int(deleted.RV))}; !slices.Equal(events, want) {
		t.Errorf("events %q, want %q", events, want)
	}

	factory := informers.NewSharedInformerFactory(cs, 0)
	inf := factory.Core().V1().Pods().Informer()
	added := make(chan string, 10)
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(o any) { added <- o.(*corev1.Pod).Name }}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer func() { close(stop); factory.Shutdown() }()
	factory.Start(stop)
	syncCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	add(t, f.pods, "ns1", "d", nil)
	seen := map[string]bool{}
	for !seen["d"] {
		select {
		case n := <-added:
			seen[n] = true
		case <-syncCtx.Done():
			t.Fatalf("informer saw %v, not d", seen)
		}
	}
	if !seen["b"] || !seen["c"] || seen["a"] {
		t.Errorf("informer added %v; want b, c and d", seen)
	}
	for _, ct := range types() {
		if ct != "GET "+kubeproto.MediaType && ct != "WATCH "+kubeproto.WatchMediaType {
			t.Errorf("response %q: not protobuf", ct)
		}
	}
}

// TestProtobufWatchBookmarkAndError_B183: a protobuf watch carries a
// bookmark (a Pod with only its RV and the initial-events-end
// annotation) and ends with an ERROR event whose Status (410 Expired)
// client-go decodes.
func TestProtobufWatchBookmarkAndError_B183(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.pods.setWatch(func(context.Context, api.WatchOptions) (api.Watcher, error) {
		return newScriptWatcher([]api.WatchEvent{{Type: api.Bookmark, RV: 17, InitialEventsEnd: true}},
			api.Errorf(api.ErrExpired, "too old resource version: 3 (7)")), nil
	})
	cs, _ := protoClientset(t, f.ts.URL)
	w, err := cs.CoreV1().Pods("ns1").Watch(t.Context(), metav1.ListOptions{AllowWatchBookmarks: true, ResourceVersion: "3"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := <-w.ResultChan()
	p, ok := ev.Object.(*corev1.Pod)
	if ev.Type != watch.Bookmark || !ok || p.ResourceVersion != "17" || p.Annotations["k8s.io/initial-events-end"] != "true" {
		t.Fatalf("bookmark: %s %+v", ev.Type, ev.Object)
	}
	ev = <-w.ResultChan()
	st, ok := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || !ok || st.Code != 410 || st.Reason != metav1.StatusReasonExpired || st.Message != "too old resource version: 3 (7)" {
		t.Fatalf("error event: %s %+v", ev.Type, ev.Object)
	}
}

// protoGet reads path with Accept protobuf; gzip asks for compression.
func protoGet(t *testing.T, url string, gz bool) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", kubeproto.MediaType)
	req.Header.Set("Accept-Encoding", "identity") // else the transport asks for gzip itself
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return resp, body
}

// kubeEncoding is the serializer's protobuf of the JSON document doc
// decoded into obj.
func kubeEncoding(t *testing.T, doc string, obj runtime.Object) []byte {
	t.Helper()
	if err := json.Unmarshal([]byte(doc), obj); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := kubeSerializer.Encode(obj, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestProtobufExactBytes_B184: a GET, a list (small, with Content-Length;
// large and streamed, gzip-compressed) and an error Status in protobuf are
// byte for byte apimachinery's protobuf serializer's encoding of what the
// server answers in JSON.
func TestProtobufExactBytes_B184(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	add(t, f.pods, "ns1", "web", map[string]string{"app": "web"})
	resp, got := protoGet(t, f.ts.URL+"/api/v1/namespaces/ns1/pods/web", false)
	jsonGet := f.do(t, http.MethodGet, "/api/v1/namespaces/ns1/pods/web", "")
	if want := kubeEncoding(t, jsonGet.body, &corev1.Pod{}); resp.StatusCode != 200 || !bytes.Equal(got, want) ||
		resp.Header.Get("Content-Type") != kubeproto.MediaType || resp.ContentLength != int64(len(want)) {
		t.Errorf("GET: %d %v\n got %x\nwant %x", resp.StatusCode, resp.Header, got, want)
	}

	resp, got = protoGet(t, f.ts.URL+"/api/v1/namespaces/ns1/pods/nope", false)
	jsonGet = f.do(t, http.MethodGet, "/api/v1/namespaces/ns1/pods/nope", "")
	if want := kubeEncoding(t, jsonGet.body, &metav1.Status{}); resp.StatusCode != 404 || !bytes.Equal(got, want) ||
		resp.Header.Get("Content-Type") != kubeproto.MediaType {
		t.Errorf("404: %d %v\n got %x\nwant %x", resp.StatusCode, resp.Header, got, want)
	}

	pad := map[string]string{"pad": strings.Repeat("x", 63)}
	for i := range 400 {
		add(t, f.pods, "ns2", "pod-"+strings.Repeat("y", 200)+itoa(i), pad)
	}
	for _, tc := range []struct {
		path string
		gz   bool
	}{{"/api/v1/namespaces/ns1/pods", false}, {"/api/v1/pods?limit=300", false}, {"/api/v1/pods", true}} {
		resp, got := protoGet(t, f.ts.URL+tc.path, tc.gz)
		want := kubeEncoding(t, f.do(t, http.MethodGet, tc.path, "").body, &corev1.PodList{})
		if !bytes.Equal(got, want) || resp.Header.Get("Content-Type") != kubeproto.MediaType {
			t.Errorf("%s: %d %v, %d bytes, want the serializer's %d", tc.path, resp.StatusCode, resp.Header, len(got), len(want))
		}
		if zipped := resp.Header.Get("Content-Encoding") == "gzip"; zipped != tc.gz || !tc.gz && resp.ContentLength != int64(len(want)) {
			t.Errorf("%s: gzip %v, Content-Length %d", tc.path, zipped, resp.ContentLength)
		}
	}
}

var protoWidgetsRes = &api.Resource{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespaced: true}

// TestProtobufNotAcceptable_B185: a kind without a protobuf form (a custom
// resource) asked for in protobuf only is kube-apiserver's 406 (the Status
// itself in protobuf, as kube-apiserver negotiates it), for a list, a get
// and a watch; listing JSON after protobuf falls back to JSON, as does a
// clause asking for a conversion (as=Table) before JSON for a built-in.
func TestProtobufNotAcceptable_B185(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	widgets := newTestStore(t, f.etcd, protoWidgetsRes)
	_, ts := serve(t, Config{Storages: []api.Storage{f.pods, widgets}, Logger: quietLog})
	add(t, widgets, "ns1", "w1", nil)
	wantStatus := &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusFailure,
		Message: "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
		Reason:  metav1.StatusReasonNotAcceptable, Code: 406}
	var want bytes.Buffer
	if err := kubeSerializer.Encode(wantStatus, &want); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/apis/example.com/v1/widgets", "/apis/example.com/v1/namespaces/ns1/widgets/w1",
		"/apis/example.com/v1/widgets?watch=true"} {
		resp, got := protoGet(t, ts.URL+path, false)
		if resp.StatusCode != 406 || !bytes.Equal(got, want.Bytes()) || resp.Header.Get("Content-Type") != kubeproto.MediaType {
			t.Errorf("%s: %d %v %q", path, resp.StatusCode, resp.Header, got)
		}
	}
	for _, tc := range []struct{ path, accept string }{
		{"/apis/example.com/v1/namespaces/ns1/widgets/w1", kubeproto.MediaType + ", application/json"},
		{"/api/v1/pods", "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json"},
		{"/api/v1/pods", "text/html"},
	} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+tc.path, nil)
		req.Header.Set("Accept", tc.accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with Accept %q: %d %q; want JSON", tc.path, tc.accept, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}
