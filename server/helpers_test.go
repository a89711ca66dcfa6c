package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/watchcached/watchcached/api"
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

// fixture is a server over in-memory storages behind a loopback httptest
// server.
type fixture struct {
	srv         *Server
	ts          *httptest.Server
	pods        *memStore
	nodes       *memStore
	deployments *memStore
}

func newFixture(t *testing.T, mutate ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{pods: newMemStore(podsRes), nodes: newMemStore(nodesRes), deployments: newMemStore(deploymentsRes)}
	cfg := Config{Storages: []api.Storage{f.pods, f.nodes, f.deployments}, Version: "test"}
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.srv = srv
	f.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.CloseWatches()
		f.ts.Close()
	})
	return f
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
