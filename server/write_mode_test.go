package server

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/client"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

func rejectStatus(action, gr, group, kind string) string {
	d := `{"kind":"` + kind + `"}`
	if group != "" {
		d = `{"group":"` + group + `","kind":"` + kind + `"}`
	}
	return status(405, "MethodNotAllowed", action+` is not supported on resources of kind "`+gr+
		`": writes are not accepted by this server (--write-mode=reject); write through kube-apiserver`, d)
}

// TestB120_RejectHTTP: in reject mode every write verb on a served
// resource answers kube-apiserver's 405 MethodNotSupported Status naming
// the mode, nothing is written, reads are served, and a path that names
// nothing served stays 404.
func TestB120_RejectHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.Writes.Mode = WriteModeReject })
	add(t, f.pods, "default", "a", nil)
	body := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b","namespace":"default"}}`
	for _, c := range []struct{ method, path, body, action, gr, group, kind string }{
		{"POST", "/api/v1/namespaces/default/pods", body, "create", "pods", "", "pods"},
		{"PUT", "/api/v1/namespaces/default/pods/a", body, "update", "pods", "", "pods"},
		{"PATCH", "/api/v1/namespaces/default/pods/a", `{}`, "patch", "pods", "", "pods"},
		{"DELETE", "/api/v1/namespaces/default/pods/a", "", "delete", "pods", "", "pods"},
		{"DELETE", "/api/v1/namespaces/default/pods", "", "deletecollection", "pods", "", "pods"},
		{"POST", "/api/v1/namespaces/default/pods/a/eviction", `{}`, "create", "pods", "", "pods"},
		{"POST", "/api/v1/nodes", `{}`, "create", "nodes", "", "nodes"},
		{"DELETE", "/apis/apps/v1/namespaces/ns1/deployments/d?dryRun=All", "", "delete", "deployments.apps", "apps", "deployments"},
	} {
		r := f.do(t, c.method, c.path, c.body, "Content-Type", "application/merge-patch+json")
		r.expect(t, 405, rejectStatus(c.action, c.gr, c.group, c.kind))
	}
	f.do(t, "POST", "/api/v1/namespaces/default/widgets", body).expect(t, 404, status(404, "NotFound", msgNoSuchResource, ""))
	if r := f.do(t, "GET", "/api/v1/namespaces/default/pods/a", ""); r.code != 200 {
		t.Errorf("GET in reject mode: %d %s", r.code, r.body)
	}
	if _, err := f.pods.Get(t.Context(), "default", "b", getOptsZero); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("pod b after a rejected create: %v, want not found", err)
	}
}

// TestB120_RejectGRPC: gRPC writes in reject (and forward) mode answer
// UNIMPLEMENTED with reason MethodNotAllowed, which api/client maps back
// to api.ErrMethodNotAllowed.
func TestB120_RejectGRPC(t *testing.T) {
	t.Parallel()
	f := newGRPCFixture(t, func(c *Config) { c.Writes.Mode = WriteModeReject })
	add(t, f.pods, "default", "a", nil)
	ctx := bg(t)
	calls := map[string]func() error{
		"create": func() error {
			_, err := f.client.Create(ctx, &pb.CreateRequest{Resource: podsPB, Namespace: "default", Json: []byte(`{"metadata":{"name":"b"}}`)})
			return err
		},
		"update": func() error {
			_, err := f.client.Update(ctx, &pb.UpdateRequest{Resource: podsPB, Namespace: "default", Name: "a", Json: []byte(`{"metadata":{"name":"a"}}`)})
			return err
		},
		"patch": func() error {
			_, err := f.client.Patch(ctx, &pb.PatchRequest{Resource: podsPB, Namespace: "default", Name: "a", MergePatch: []byte(`{}`)})
			return err
		},
		"delete": func() error {
			_, err := f.client.Delete(ctx, &pb.DeleteRequest{Resource: podsPB, Namespace: "default", Name: "a"})
			return err
		},
	}
	for action, call := range calls {
		err := call()
		want := action + ` is not supported on resources of kind "pods": writes are not accepted by this server (--write-mode=reject); write through kube-apiserver`
		if !errors.Is(err, api.ErrMethodNotAllowed) || err.Error() != want {
			t.Errorf("%s: %v, want ErrMethodNotAllowed %q", action, err, want)
		}
	}
	_, err := pb.NewWatchCacheClient(f.conn).Delete(ctx, &pb.DeleteRequest{Resource: podsPB, Namespace: "default", Name: "a"})
	if grpcstatus.Code(err) != codes.Unimplemented || client.HTTPCode(err) != 405 {
		t.Errorf("raw delete: %v (HTTP code %d), want UNIMPLEMENTED, 405", err, client.HTTPCode(err))
	}
	if _, err := f.client.Get(ctx, &pb.GetRequest{Resource: podsPB, Namespace: "default", Name: "a"}); err != nil {
		t.Errorf("get in reject mode: %v", err)
	}
}

// fakeAPIServer records the requests it gets and answers each with a
// fixed response.
type fakeAPIServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded // guarded by mu
}

type recorded struct {
	method, path, query, body string
	header                    http.Header
}

func newFakeAPIServer(t *testing.T) *fakeAPIServer {
	f := &fakeAPIServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(b), r.Header.Clone()})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Warning", `299 - "spec.foo: deprecated"`)
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, `{"from":"kube-apiserver"}`)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPIServer) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("kube-apiserver got no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func forwardTo(fake *fakeAPIServer) func(*Config) {
	u, _ := url.Parse(fake.URL)
	return func(c *Config) {
		c.Writes = WritePolicy{Mode: WriteModeForward, ForwardURL: u, ForwardTransport: http.DefaultTransport}
	}
}

// TestB121_ForwardHTTP: in forward mode every write goes to kube-apiserver
// with its method, path, query and body, and kube-apiserver's status,
// headers and body come back unchanged; the client's Impersonate-*
// headers are dropped and, without authentication, none are added; reads
// are still served from the storages.
func TestB121_ForwardHTTP(t *testing.T) {
	t.Parallel()
	fake := newFakeAPIServer(t)
	f := newFixture(t, forwardTo(fake))
	add(t, f.pods, "default", "a", nil)
	for _, c := range []struct{ method, path, query, body string }{
		{"POST", "/api/v1/namespaces/default/pods", "fieldManager=kubectl&dryRun=All", `{"metadata":{"name":"b"}}`},
		{"PUT", "/api/v1/namespaces/default/pods/a", "", `{"metadata":{"name":"a"}}`},
		{"PATCH", "/apis/apps/v1/namespaces/ns1/deployments/d", "fieldManager=x", `{"spec":{}}`},
		{"DELETE", "/api/v1/namespaces/default/pods", "labelSelector=a%3Db", ""},
		{"POST", "/api/v1/namespaces/default/pods/a/binding", "", `{"target":{}}`},
		{"POST", "/apis/widgets.example.com/v1/widgets", "", `{}`},
	} {
		path := c.path
		if c.query != "" {
			path += "?" + c.query
		}
		r := f.do(t, c.method, path, c.body, "Impersonate-User", "admin", "Impersonate-Group", "system:masters")
		r.expect(t, http.StatusTeapot, `{"from":"kube-apiserver"}`)
		if got := r.header.Values("Warning"); !slices.Equal(got, []string{`299 - "spec.foo: deprecated"`}) || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: headers %v", c.method, path, r.header)
		}
		got := fake.last(t)
		if got.method != c.method || got.path != c.path || got.query != c.query || got.body != c.body {
			t.Errorf("forwarded %s %s?%s %q, want %s %s?%s %q", got.method, got.path, got.query, got.body, c.method, c.path, c.query, c.body)
		}
		for k := range got.header {
			if len(k) > 12 && k[:12] == "Impersonate-" {
				t.Errorf("%s %s: forwarded the client's %s header", c.method, path, k)
			}
		}
	}
	if r := f.do(t, "GET", "/api/v1/namespaces/default/pods/a", ""); r.code != 200 {
		t.Errorf("GET in forward mode: %d %s", r.code, r.body)
	}
	fake.mu.Lock()
	n := len(fake.reqs)
	fake.mu.Unlock()
	if n != 6 {
		t.Errorf("kube-apiserver got %d requests, want the 6 writes only", n)
	}
}

// TestB121_ForwardImpersonates: with authentication on, a forwarded write
// impersonates the authenticated caller (user, uid, each group but the
// system ones, extra as Impersonate-Extra-<escaped key>) and carries none of the caller's own credentials.
func TestB121_ForwardImpersonates(t *testing.T) {
	t.Parallel()
	fake := newFakeAPIServer(t)
	f := newFixture(t, forwardTo(fake), func(c *Config) {
		c.Authentication = &Authentication{Tokens: map[string]User{
			"tok": {Name: "alice", UID: "u-1", Groups: []string{"dev", "ops", GroupAuthenticated},
				Extra: map[string][]string{"scopes.example.com/a b:%": {"r", "w"}}},
		}}
	})
	f.do(t, "POST", "/api/v1/namespaces/default/pods", `{}`, "Authorization", "Bearer tok",
		"Impersonate-User", "admin").expect(t, http.StatusTeapot, `{"from":"kube-apiserver"}`)
	h := fake.last(t).header
	if h.Get("Impersonate-User") != "alice" || h.Get("Impersonate-Uid") != "u-1" ||
		!slices.Equal(h.Values("Impersonate-Group"), []string{"dev", "ops"}) || h.Get("Authorization") != "" ||
		!slices.Equal(h.Values("Impersonate-Extra-scopes.example.com%2Fa%20b%3A%25"), []string{"r", "w"}) {
		t.Errorf("forwarded headers %v", h)
	}
}

// TestB121_ForwardGRPCWrites: gRPC writes are not forwarded: they answer
// UNIMPLEMENTED (api.ErrMethodNotAllowed) saying so, and kube-apiserver
// sees nothing.
func TestB121_ForwardGRPCWrites(t *testing.T) {
	t.Parallel()
	fake := newFakeAPIServer(t)
	f := newGRPCFixture(t, forwardTo(fake))
	_, err := f.client.Create(bg(t), &pb.CreateRequest{Resource: podsPB, Namespace: "default", Json: []byte(`{"metadata":{"name":"b"}}`)})
	want := `create is not supported on resources of kind "pods" over gRPC: gRPC writes are not forwarded (--write-mode=forward); write over HTTP or through kube-apiserver`
	if !errors.Is(err, api.ErrMethodNotAllowed) || err.Error() != want {
		t.Errorf("create: %v, want ErrMethodNotAllowed %q", err, want)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.reqs) != 0 {
		t.Errorf("kube-apiserver got %d requests", len(fake.reqs))
	}
}

// TestForwardUnreachable: a kube-apiserver that cannot be reached is a 503.
func TestForwardUnreachable(t *testing.T) {
	t.Parallel()
	fake := newFakeAPIServer(t)
	opt := forwardTo(fake)
	fake.Close()
	f := newFixture(t, opt)
	f.do(t, "DELETE", "/api/v1/namespaces/default/pods/a", "").expect(t, 503,
		status(503, "ServiceUnavailable", "the write could not be forwarded to kube-apiserver (--write-mode=forward)", ""))
}

// TestWritePolicyValidate: forward needs a URL and a transport; an unknown
// mode is refused.
func TestWritePolicyValidate(t *testing.T) {
	t.Parallel()
	for _, p := range []WritePolicy{{Mode: "forward"}, {Mode: "nope"}} {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v: valid", p)
		}
	}
}
