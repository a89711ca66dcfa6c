package server

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// TestEtcd_RoundTrip runs the server over the real etcdstore on a real
// embedded etcd: create, list, get, watch from an RV, update, delete, with
// the exact lines of the watch stream (B31, B50-B52).
func TestEtcd_RoundTrip(t *testing.T) {
	t.Parallel()
	f := &fixture{}
	f.srv, f.ts = serve(t, Config{Storages: []api.Storage{newStore(t, etcdtest.Start(t), podsRes)}})

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

// TestEtcd_ClientGo: client-go's typed client creates, lists, watches and
// deletes through the server over the real etcdstore, decoding our lists,
// watch frames and Status errors with its own codecs.
func TestEtcd_ClientGo(t *testing.T) {
	t.Parallel()
	_, ts := serve(t, Config{Storages: []api.Storage{newStore(t, etcdtest.Start(t), configMapsRes)}})
	// Typed clients of built-in types send protobuf bodies unless told to
	// use JSON; the server takes JSON only.
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: ts.URL, ContentConfig: rest.ContentConfig{ContentType: "application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	cms := cs.CoreV1().ConfigMaps("ns1")
	c1, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c1"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c1"}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: %v, want AlreadyExists", err)
	}
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Data["k"] != "v" || list.ResourceVersion != c1.ResourceVersion {
		t.Fatalf("list %+v, %v", list, err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := cms.Delete(ctx, "c1", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &c1.ResourceVersion}}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		cm, ok := ev.Object.(*corev1.ConfigMap)
		if ev.Type != watch.Deleted || !ok || cm.Name != "c1" {
			t.Fatalf("event %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no DELETED event")
	}
	if _, err := cms.Get(ctx, "c1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: %v, want NotFound", err)
	}
}
