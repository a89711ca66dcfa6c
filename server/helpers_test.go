package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	podsRes = &api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true,
		SelectableFields: []string{"spec.nodeName"}}
	nodesRes       = &api.Resource{Version: "v1", Resource: "nodes", Kind: "Node"}
	deploymentsRes = &api.Resource{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true}
)

// fixture is a server over the real etcdstore of pods, nodes and
// deployments on one embedded etcd (each store behind a testStore), behind
// a loopback httptest server.
type fixture struct {
	srv         *Server
	ts          *httptest.Server
	etcd        *etcdtest.Server
	pods        *testStore
	nodes       *testStore
	deployments *testStore
}

func newFixture(t *testing.T, mutate ...func(*Config)) *fixture {
	t.Helper()
	e := etcdtest.Start(t)
	f := &fixture{etcd: e, pods: newTestStore(t, e, podsRes), nodes: newTestStore(t, e, nodesRes),
		deployments: newTestStore(t, e, deploymentsRes)}
	cfg := Config{Storages: []api.Storage{f.pods, f.nodes, f.deployments}, Version: "test", Logger: quietLog}
	for _, m := range mutate {
		m(&cfg)
	}
	f.srv, f.ts = serve(t, cfg)
	return f
}

// serve builds a Server of cfg behind a loopback httptest server; both
// are closed by t.Cleanup.
func serve(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.CloseWatches()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.WaitWatches(ctx)
		ts.Close()
	})
	return srv, ts
}

// newStore is the real etcdstore of res on e, closed by t.Cleanup.
func newStore(t *testing.T, e *etcdtest.Server, res *api.Resource) *etcdstore.Store {
	t.Helper()
	st, err := etcdstore.New(etcdstore.Config{Client: e.Client, Resource: res, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// add creates an object of st named ns/name with labels (none when nil)
// through the storage and returns it as stored.
func add(t *testing.T, st api.Storage, ns, name string, labels map[string]string) *api.Object {
	t.Helper()
	md := map[string]any{"name": name}
	if len(labels) > 0 {
		md["labels"] = labels
	}
	body, err := json.Marshal(map[string]any{"metadata": md})
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.Create(t.Context(), ns, body)
	if err != nil {
		t.Fatalf("create %s/%s: %v", ns, name, err)
	}
	return o
}

// response is what a test request got back.
type response struct {
	code   int
	header http.Header
	body   string
}

// do sends a request; body may be "" for none. Extra headers come in pairs.
func (f *fixture) do(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// expect asserts the exact code and body.
func (r response) expect(t *testing.T, code int, body string) {
	t.Helper()
	if r.code != code || strings.TrimSuffix(r.body, "\n") != body {
		t.Errorf("got %d %s\nwant %d %s", r.code, r.body, code, body)
	}
}

// status is the Status body the server writes for code/reason/message,
// with details given as raw JSON ("" for none).
func status(code int, reason, message, details string) string {
	s := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":` + quote(message) +
		`,"reason":"` + reason + `"`
	if details != "" {
		s += `,"details":` + details
	}
	return s + `,"code":` + itoa(code) + `}`
}

func itoa(n int) string {
	return api.FormatRV(uint64(n))
}

var (
	getOptsZero  api.GetOptions
	listOptsZero api.ListOptions
)
