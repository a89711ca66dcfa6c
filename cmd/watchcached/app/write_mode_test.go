package app

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestWriteFlags_Validate(t *testing.T) {
	kc := writeTemp(t, "kubeconfig", "apiVersion: v1\nkind: Config\n")
	for _, c := range []struct {
		resources, mode, kubeconfig string
		want, err                   string
	}{
		{"", "", "", "etcd", ""},
		{"kube", "", "", "reject", ""},
		{"kube", "etcd", "", "etcd", ""},
		{"", "reject", "", "reject", ""},
		{"kube", "forward", kc, "forward", ""},
		{"", "forward", "", "", "--write-mode=forward: needs --forward-kubeconfig"},
		{"kube", "", kc, "", "--forward-kubeconfig: only applies with --write-mode=forward (the write mode is reject)"},
		{"", "forward", kc + ".missing", "", "--forward-kubeconfig: stat " + kc + ".missing: no such file or directory"},
		{"", "proxy", "", "", `--write-mode "proxy": must be etcd, reject or forward`},
	} {
		cfg := testConfig(t)
		cfg.ResourcesFile, cfg.WriteMode, cfg.ForwardKubeconfig = c.resources, c.mode, c.kubeconfig
		err := cfg.Validate()
		if errString(err) != c.err || (err == nil && cfg.EffectiveWriteMode() != c.want) {
			t.Errorf("%+v: mode %s, %v; want %s, %q", c, cfg.EffectiveWriteMode(), err, c.want, c.err)
		}
	}
}

// TestDaemon_B120_KubeCatalogueRejects: with --resources kube and no
// --write-mode, writes answer 405 (watchcached never writes behind
// kube-apiserver's back) and nothing reaches etcd.
func TestDaemon_B120_KubeCatalogueRejects(t *testing.T) {
	cfg := testConfig(t)
	cfg.ResourcesFile = "kube"
	d := startReady(t, t.Context(), cfg)
	code, body := httpDo(t, http.MethodPost, "http://"+d.HTTPAddr+"/apis/apps/v1/namespaces/a/deployments",
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"}}`)
	want := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"create is not supported on resources of kind \"deployments.apps\": writes are not accepted by this server (--write-mode=reject); write through kube-apiserver","reason":"MethodNotAllowed","details":{"group":"apps","kind":"deployments"},"code":405}`
	if code != 405 || strings.TrimSpace(body) != want {
		t.Errorf("POST: %d %s\nwant 405 %s", code, body, want)
	}
	c := etcdClient(t, d)
	defer c.Close()
	resp, err := c.Get(t.Context(), "/registry/deployments/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 0 {
		t.Errorf("etcd holds %v deployments (%v), want none", resp.Count, err)
	}
}

// fakeKubeAPIServer is a TLS kube-apiserver stand-in: it records each
// request and, like kube-apiserver, stores a created pod in etcd (once
// onWrite is set) and answers 201 with a Warning.
type fakeKubeAPIServer struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []*http.Request // guarded by mu
	bodies  []string        // guarded by mu
	onWrite func(body string) int64
}

func (f *fakeKubeAPIServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs, f.bodies = append(f.reqs, r), append(f.bodies, string(b))
	write := f.onWrite
	f.mu.Unlock()
	rev := write(string(b))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Warning", `299 - "fake warning"`)
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"rv":%d}`, rev)
}

func kubeconfigFor(t *testing.T, ts *httptest.Server, token string) string {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	return writeTemp(t, "kubeconfig", fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: u
  user:
    token: %s
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`, ts.URL, base64.StdEncoding.EncodeToString(ca), token))
}

// TestDaemon_B121_ForwardWrites: --write-mode=forward sends a write to the
// kubeconfig's kube-apiserver over its TLS with its bearer token,
// impersonating the caller authenticated by --token-auth-file; the answer
// comes back unchanged, and the object kube-apiserver stored is then read
// from watchcached's cache.
func TestDaemon_B121_ForwardWrites(t *testing.T) {
	fake := &fakeKubeAPIServer{}
	fake.Server = httptest.NewTLSServer(http.HandlerFunc(fake.serveHTTP))
	defer fake.Close()
	cfg := testConfig(t)
	cfg.WriteMode = "forward"
	cfg.ForwardKubeconfig = kubeconfigFor(t, fake.Server, "kc-t0ken")
	cfg.Auth.TokenAuthFile = writeTemp(t, "tokens.csv", "caller-t0ken,bob,uid-7,\"g1,g2\"\n")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	d := startReady(t, ctx, cfg)
	c := etcdClient(t, d)
	defer c.Close()
	fake.mu.Lock()
	fake.onWrite = func(body string) int64 {
		resp, err := c.Put(ctx, "/registry/pods/a/p", body)
		if err != nil {
			t.Error(err)
			return 0
		}
		return resp.Header.Revision
	}
	fake.mu.Unlock()

	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"}}`
	do := func(method, path, body string) (*http.Response, string) {
		req, _ := http.NewRequest(method, "http://"+d.HTTPAddr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer caller-t0ken")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := do(http.MethodPost, "/api/v1/namespaces/a/pods?fieldManager=kubectl", pod)
	var rev int64
	if _, err := fmt.Sscanf(body, `{"rv":%d}`, &rev); err != nil || resp.StatusCode != 201 ||
		resp.Header.Get("Warning") != `299 - "fake warning"` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("POST: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	fake.mu.Lock()
	r, got := fake.reqs[0], fake.bodies[0]
	fake.mu.Unlock()
	h := r.Header
	if r.Method != "POST" || r.URL.Path != "/api/v1/namespaces/a/pods" || r.URL.RawQuery != "fieldManager=kubectl" || got != pod {
		t.Errorf("forwarded %s %s %q", r.Method, r.URL, got)
	}
	if h.Get("Authorization") != "Bearer kc-t0ken" || h.Get("Impersonate-User") != "bob" || h.Get("Impersonate-Uid") != "uid-7" ||
		!slices.Equal(h.Values("Impersonate-Group"), []string{"g1", "g2"}) {
		t.Errorf("forwarded headers %v", h)
	}
	resp, body = do(http.MethodGet, fmt.Sprintf("/api/v1/namespaces/a/pods/p?resourceVersion=%d", rev), "")
	if resp.StatusCode != 200 || !strings.Contains(body, fmt.Sprintf(`"resourceVersion":"%d"`, rev)) {
		t.Errorf("GET after the forwarded create: %d %s", resp.StatusCode, body)
	}
}
