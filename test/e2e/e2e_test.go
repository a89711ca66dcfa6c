package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
)

func TestMain(m *testing.M) {
	ignore := goleak.IgnoreCurrent() // klog's flush daemon and other init-time goroutines
	code := m.Run()
	if code == 0 {
		// client-go uses http.DefaultTransport for plain-http configs; its
		// idle keep-alive connections are not leaks of ours.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		if err := goleak.Find(ignore); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testTimeout bounds each test's own waits; the whole package runs in well
// under a minute.
const testTimeout = 30 * time.Second

// Resources beyond the defaults that the tests serve: a custom resource
// declared only in the daemon's resource configuration.
var (
	widgetsGVR = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	podsGVR    = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
)

func widgetsResource() *api.Resource {
	return &api.Resource{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespaced: true}
}

// env is one test's daemon and the clients pointed at it.
type env struct {
	d    *app.Daemon
	url  string                // http://127.0.0.1:port
	cfg  *rest.Config          // a fresh copy per client is made by the helpers
	cs   *kubernetes.Clientset // typed, default content types (protobuf bodies)
	dyn  *dynamic.DynamicClient
	etcd *clientv3.Client // to the daemon's etcd, closed before the daemon stops
}

// startEnv starts a daemon on its own embedded etcd with the default
// resources plus widgets (mutate may change the configuration) and waits
// until every cache is ready.
func startEnv(t *testing.T, mutate ...func(*app.Config)) *env {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.GRPCListen = ""
	cfg.DataDir = t.TempDir()
	cfg.FastEmbeddedEtcd = true
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Resources = append(app.DefaultResources(), widgetsResource())
	for _, m := range mutate {
		m(&cfg)
	}
	d := runDaemon(t, cfg, "daemon")
	return newEnv(t, d, "http://"+d.HTTPAddr, d.EtcdEndpoints)
}

// runDaemon starts a daemon of cfg (what names it in failures), stops it
// in t's cleanup and waits until its caches are ready.
func runDaemon(t *testing.T, cfg app.Config, what string) *app.Daemon {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	d, err := app.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("app.Start (%s): %v", what, err)
	}
	t.Cleanup(func() {
		if err := d.Close(context.Background()); err != nil {
			t.Errorf("%s close: %v", what, err)
		}
	})
	if err := d.WaitReady(ctx); err != nil {
		t.Fatalf("%s WaitReady: %v", what, err)
	}
	return d
}

// newEnv builds the clients of a server at url whose etcd is at endpoints.
func newEnv(t *testing.T, d *app.Daemon, url string, endpoints []string) *env {
	t.Helper()
	e := &env{d: d, url: url, cfg: &rest.Config{Host: url, QPS: -1}}
	var err error
	if e.cs, err = kubernetes.NewForConfig(rest.CopyConfig(e.cfg)); err != nil {
		t.Fatal(err)
	}
	if e.dyn, err = dynamic.NewForConfig(rest.CopyConfig(e.cfg)); err != nil {
		t.Fatal(err)
	}
	if e.etcd, err = clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 10 * time.Second, Logger: zap.NewNop()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.etcd.Close() })
	return e
}

// requests sums watchcached_http_requests_total for verb and resource over
// all response codes, read from /metrics. A request is counted when it
// ends, so an open watch is not counted yet.
func (e *env) requests(t *testing.T, verb, resource string) int {
	t.Helper()
	return e.metric(t, "watchcached_http_requests_total", `verb="`+verb+`"`, `resource="`+resource+`"`)
}

// metric sums the samples of name whose labels include every one of
// labels (each written as in the exposition format: resource="pods").
func (e *env) metric(t *testing.T, name string, labels ...string) int {
	t.Helper()
	_, _, body := e.do(t, http.MethodGet, "/metrics", "")
	total := 0
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		if slices.ContainsFunc(labels, func(l string) bool { return !strings.Contains(line, l) }) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		total += int(v)
	}
	return total
}

// do sends a raw HTTP request; headers come in pairs. JSON is the default
// Content-Type of a body.
func (e *env) do(t *testing.T, method, path, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// deleteRV deletes the object at path and returns the RV of the deletion
// (the server answers the last state carrying the deletion RV, B52).
func (e *env) deleteRV(t *testing.T, path string) string {
	t.Helper()
	code, _, body := e.do(t, http.MethodDelete, path, "")
	if code != http.StatusOK {
		t.Fatalf("DELETE %s: %d %s", path, code, body)
	}
	return rvOf(t, body)
}

// rvOf reads metadata.resourceVersion of a JSON object.
func rvOf(t *testing.T, body string) string {
	t.Helper()
	var o struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(body), &o); err != nil || o.Metadata.ResourceVersion == "" {
		t.Fatalf("no resourceVersion in %s (%v)", body, err)
	}
	return o.Metadata.ResourceVersion
}

// waitFor polls cond until it holds or the deadline passes; then it fails
// with what describe says about the state.
func waitFor(t *testing.T, what string, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, describe())
		}
		<-tick.C
	}
}

// recorder is an informer event handler that records, per object
// (namespace/name), the events it saw as "+RV" (add), "~RV" (update to RV)
// and "-RV" (delete with the deletion RV); "-?" for a delete whose final
// state was unknown. Safe for concurrent use; handlers of one informer are
// called from one goroutine.
type recorder struct {
	mu      sync.Mutex
	seq     map[string][]string // guarded by mu
	initial int                 // adds flagged isInInitialList; guarded by mu
	n       int                 // all events; guarded by mu
}

var _ cache.ResourceEventHandler = (*recorder)(nil)

func newRecorder() *recorder { return &recorder{seq: map[string][]string{}} }

func (r *recorder) OnAdd(obj any, isInInitialList bool) {
	r.record(obj, "+")
	if isInInitialList {
		r.mu.Lock()
		r.initial++
		r.mu.Unlock()
	}
}

func (r *recorder) OnUpdate(_, obj any) { r.record(obj, "~") }

func (r *recorder) OnDelete(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.seq[tomb.Key] = append(r.seq[tomb.Key], "-?")
		r.n++
		return
	}
	r.record(obj, "-")
}

func (r *recorder) record(obj any, op string) {
	m, err := meta.Accessor(obj)
	if err != nil {
		panic(err)
	}
	key := m.GetName()
	if m.GetNamespace() != "" {
		key = m.GetNamespace() + "/" + key
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq[key] = append(r.seq[key], op+m.GetResourceVersion())
	r.n++
}

// count is the number of events seen.
func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// diff compares the recorded sequences with want; "" when equal.
func (r *recorder) diff(want map[string][]string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k, w := range want {
		if !slices.Equal(r.seq[k], w) {
			out = append(out, fmt.Sprintf("%s: got %v want %v", k, r.seq[k], w))
		}
	}
	for k, g := range r.seq {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("%s: got %v, want no events", k, g))
		}
	}
	slices.Sort(out)
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("... %d more", len(out)-10))
	}
	return strings.Join(out, "\n")
}

// runInformer starts inf and stops it (waiting for it) at cleanup; it
// waits for the initial sync.
func runInformer(t *testing.T, inf cache.SharedIndexInformer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		inf.RunWithContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	syncCtx, syncCancel := context.WithTimeout(t.Context(), testTimeout)
	defer syncCancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
}

// storeRVs maps each object in an informer's store to its RV.
func storeRVs(t *testing.T, store cache.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, obj := range store.List() {
		m, err := meta.Accessor(obj)
		if err != nil {
			t.Fatal(err)
		}
		key := m.GetName()
		if m.GetNamespace() != "" {
			key = m.GetNamespace() + "/" + key
		}
		out[key] = m.GetResourceVersion()
	}
	return out
}
