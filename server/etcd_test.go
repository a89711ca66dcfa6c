package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// TestEtcd_RoundTrip runs the server over the real etcdstore on a real
// embedded etcd: create, list, get, watch from an RV, update, delete, with
// the exact lines of the watch stream (B31, B50-B52).
func TestEtcd_RoundTrip(t *testing.T) {
	e := etcdtest.Start(t)
	st, err := etcdstore.New(etcdstore.Config{Client: e.Client, Resource: podsRes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	srv, err := New(Config{Storages: []api.Storage{st}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.CloseWatches()
		ts.Close()
	})
	f := &fixture{srv: srv, ts: ts}

	created := f.do(t, http.MethodPost, "/api/v1/namespaces/ns1/pods",
		`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a"},"spec":{"nodeName":"n1"}}`, "Content-Type", "application/json")
	if created.code != 201 {
		t.Fatalf("create: %d %s", created.code, created.body)
	}
	rv1 := metaRV(t, created.body)
	f.do(t, http.MethodGet, "/api/v1/namespaces/ns1/pods/a", "").expect(t, 200, trimNL(created.body))
	f.do(t, http.MethodGet, "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1", "").expect(t, 200,
		`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"`+rv1+`"},"items":[`+trimNL(created.body)+`]}`)
	f.do(t, http.MethodGet, "/api/v1/pods?fieldSelector=spec.nodeName%3Dn2", "").expect(t, 200,
		`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"`+rv1+`"},"items":[]}`)
	f.do(t, http.MethodPost, "/api/v1/namespaces/ns1/pods", `{"metadata":{"name":"a"}}`).expectCode(t, 409)

	_, r := f.stream(t, "/api/v1/namespaces/ns1/pods?watch=true&resourceVersion="+rv1)
	b := f.do(t, http.MethodPost, "/api/v1/namespaces/ns1/pods", `{"metadata":{"name":"b"}}`)
	if b.code != 201 {
		t.Fatalf("create b: %d %s", b.code, b.body)
	}
	upd := f.do(t, http.MethodPatch, "/api/v1/namespaces/ns1/pods/b", `{"metadata":{"labels":{"x":"y"}}}`,
		"Content-Type", "application/merge-patch+json")
	if upd.code != 200 {
		t.Fatalf("patch b: %d %s", upd.code, upd.body)
	}
	del := f.do(t, http.MethodDelete, "/api/v1/namespaces/ns1/pods/b", "")
	if del.code != 200 {
		t.Fatalf("delete b: %d %s", del.code, del.body)
	}
	expectLines(t, r, false,
		`{"type":"ADDED","object":`+trimNL(b.body)+`}`,
		`{"type":"MODIFIED","object":`+trimNL(upd.body)+`}`,
		`{"type":"DELETED","object":`+trimNL(del.body)+`}`,
	)
	f.do(t, http.MethodPut, "/api/v1/namespaces/ns1/pods/a", `{"metadata":{"name":"a","resourceVersion":"1"}}`).expectCode(t, 409)
	f.do(t, http.MethodGet, "/api/v1/namespaces/ns1/pods/b", "").expectCode(t, 404)
}

func metaRV(t *testing.T, body string) string {
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

func trimNL(s string) string {
	if len(s) > 0 && s[len(s)-1] == '\n' {
		return s[:len(s)-1]
	}
	return s
}
