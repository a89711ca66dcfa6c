package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
)

// TestList_B20_EmptyItems: an empty list has "items":[] and its RV.
func TestList_B20_EmptyItems(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	got := f.do(t, http.MethodGet, "/api/v1/pods", "")
	got.expect(t, 200, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`)
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestList_ItemsAreRawConcatenated: items are the objects' bytes, as they
// are, in key order; a namespaced list passes its namespace (B26).
func TestList_ItemsAreRawConcatenated(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := add(t, f.pods, "ns1", "a", nil)
	b := add(t, f.pods, "ns1", "b", nil)
	add(t, f.pods, "ns10", "c", nil)
	got := f.do(t, http.MethodGet, "/api/v1/namespaces/ns1/pods", "")
	got.expect(t, 200, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"4"},"items":[`+
		string(a.Raw)+","+string(b.Raw)+`]}`)
	if ns := f.pods.lastListOpts().Namespace; ns != "ns1" {
		t.Errorf("namespace passed %q", ns)
	}
	d := add(t, f.deployments, "ns1", "d", nil)
	f.do(t, http.MethodGet, "/apis/apps/v1/deployments", "").expect(t, 200,
		`{"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{"resourceVersion":"`+itoa(int(d.RV))+`"},"items":[`+string(d.Raw)+`]}`)
}

// TestList_B21_ContinueAndRemaining: a limited list carries the continue
// token and remainingItemCount the storage gives (no count with a
// selector, as in kube-apiserver), and all options reach it.
func TestList_B21_ContinueAndRemaining(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := add(t, f.pods, "ns1", "a", map[string]string{"app": "x"})
	add(t, f.pods, "ns1", "b", map[string]string{"app": "x"})
	add(t, f.pods, "ns2", "c", map[string]string{"app": "x"})
	got := f.do(t, http.MethodGet, "/api/v1/pods?limit=1&resourceVersion=0&labelSelector=app%3Dx&fieldSelector=spec.nodeName%3Dn1,metadata.namespace!%3Dns3&timeoutSeconds=5", "")
	// No pod has spec.nodeName=n1, so the list is empty; the options that
	// reached the storage are checked too.
	o := f.pods.lastListOpts()
	if o.Limit != 1 || o.ResourceVersion != "0" || o.Predicate.Label.String() != "app=x" ||
		o.Predicate.Field.String() != "metadata.namespace!=ns3,spec.nodeName=n1" {
		t.Errorf("options %+v (%s)", o, o.Predicate)
	}
	got.expect(t, 200, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"4"},"items":[]}`)

	tok := api.EncodeContinue(4, "ns1/a\x00")
	f.do(t, http.MethodGet, "/api/v1/pods?limit=1", "").expect(t, 200,
		`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"4","continue":"`+tok+`","remainingItemCount":2},"items":[`+string(a.Raw)+`]}`)
	f.do(t, http.MethodGet, "/api/v1/pods?limit=1&labelSelector=app%3Dx", "").expect(t, 200,
		`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"4","continue":"`+tok+`"},"items":[`+string(a.Raw)+`]}`)
	f.do(t, http.MethodGet, "/api/v1/pods?limit=1&continue="+tok, "")
	if f.pods.lastListOpts().Continue != tok {
		t.Errorf("continue passed %q", f.pods.lastListOpts().Continue)
	}
}

// TestList_Gzip: a large list is gzip-compressed when the client accepts
// it, and not otherwise; a small one never is.
func TestList_Gzip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pad := map[string]string{"pad": strings.Repeat("x", 63)} // a label value's longest
	for i := range 300 {
		add(t, f.pods, "ns1", "pod-"+strings.Repeat("x", 200)+itoa(i), pad)
	}
	plain := f.do(t, http.MethodGet, "/api/v1/pods", "")
	if plain.code != 200 || len(plain.body) < gzipMinBytes || plain.header.Get("Content-Encoding") != "" {
		t.Fatalf("plain: %d, %d bytes, encoding %q", plain.code, len(plain.body), plain.header.Get("Content-Encoding"))
	}
	// Ask explicitly, so that the transport does not decompress for us.
	req, _ := http.NewRequest(http.MethodGet, f.ts.URL+"/api/v1/pods", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, []byte(plain.body)) {
		t.Errorf("gzip body differs from plain body")
	}
	small := f.do(t, http.MethodGet, "/api/v1/nodes", "", "Accept-Encoding", "gzip")
	if small.header.Get("Content-Encoding") != "" {
		t.Errorf("small response compressed")
	}
}

// TestGet_RawAsIs: a get returns the object's bytes unchanged; a missing
// object is B5's 404 naming resource and name.
func TestGet_RawAsIs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := add(t, f.pods, "ns1", "web", nil)
	n := add(t, f.nodes, "", "node-1", nil)
	f.do(t, http.MethodGet, "/api/v1/namespaces/ns1/pods/web?resourceVersion=0", "").expect(t, 200, string(p.Raw))
	f.do(t, http.MethodGet, "/api/v1/nodes/node-1", "").expect(t, 200, string(n.Raw))
	f.do(t, http.MethodGet, "/api/v1/namespaces/ns1/pods/nope", "").expect(t, 404,
		status(404, "NotFound", `pods "nope" not found`, `{"name":"nope","kind":"pods"}`))
	f.do(t, http.MethodGet, "/apis/apps/v1/namespaces/ns1/deployments/nope", "").expect(t, 404,
		status(404, "NotFound", `deployments.apps "nope" not found`, `{"name":"nope","group":"apps","kind":"deployments"}`))
}

// BenchmarkList_10k measures assembling and serving a 10,000-object list
// (~200 bytes each), the performance target of the list path.
// The list is a fixed one, so that only the server's part is measured.
func BenchmarkList_10k(b *testing.B) {
	pad := strings.Repeat("x", 900)
	list := &api.List{RV: 10001}
	for i := range 10000 {
		raw := `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"pod-` + itoa(i) + "-" + pad[:10] +
			`","namespace":"ns1","resourceVersion":"` + itoa(i+2) + `","labels":{"pad":"` + pad[:60] + `"}}}`
		list.Items = append(list.Items, &api.Object{Raw: []byte(raw), RV: uint64(i + 2)})
	}
	srv, err := New(Config{Storages: []api.Storage{&fixedList{res: podsRes, list: list}}})
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "/api/v1/pods", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		srv.Handler().ServeHTTP(w, req)
	}
}

// fixedList serves one list. Everything else of api.Storage is absent
// (nil embedded).
type fixedList struct {
	api.Storage
	res  *api.Resource
	list *api.List
}

func (s *fixedList) Resource() *api.Resource { return s.res }

func (s *fixedList) List(context.Context, api.ListOptions) (*api.List, error) { return s.list, nil }

type discardWriter struct {
	h http.Header
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
