package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// msgBuiltinPatchTypes is the 415 of a patch type a built-in kind does
// not accept.
const msgBuiltinPatchTypes = "the body of the request was in an unknown format - accepted media types include: " +
	"application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"

// patchedParts returns the labels and containers of a patched pod.
func patchedParts(t *testing.T, r response) (map[string]string, []map[string]string) {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("got %d %s", r.code, r.body)
	}
	var o struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Containers []map[string]string `json:"containers"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(r.body), &o); err != nil {
		t.Fatal(err)
	}
	return o.Metadata.Labels, o.Spec.Containers
}

// B75, B76: the Content-Type of a PATCH is its patch type (parameters
// ignored): a JSON patch (the JavaScript client's default) and a
// strategic merge patch (kubectl's default for built-in kinds) apply; a
// failed JSON patch test is kube-apiserver's bare 422.
func TestPatch_B75_B76_ContentTypes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const pod = "/api/v1/namespaces/ns1/pods/web"
	if _, err := f.pods.Create(t.Context(), "ns1", []byte(`{"metadata":{"name":"web","labels":{"a":"1"}},`+
		`"spec":{"containers":[{"name":"a","image":"a:1"},{"name":"b","image":"b:1"}]}}`)); err != nil {
		t.Fatal(err)
	}
	labels, cs := patchedParts(t, f.do(t, http.MethodPatch, pod,
		`[{"op":"add","path":"/metadata/labels/b","value":"2"},{"op":"replace","path":"/spec/containers/0/image","value":"a:2"}]`,
		"Content-Type", "application/json-patch+json; charset=utf-8"))
	if len(labels) != 2 || labels["b"] != "2" || len(cs) != 2 || cs[0]["image"] != "a:2" || cs[1]["image"] != "b:1" {
		t.Fatalf("JSON patch: labels %v containers %v", labels, cs)
	}
	labels, cs = patchedParts(t, f.do(t, http.MethodPatch, pod,
		`{"metadata":{"labels":{"a":null}},"spec":{"containers":[{"name":"b","image":"b:2"}]}}`,
		"Content-Type", "application/strategic-merge-patch+json"))
	if len(labels) != 1 || labels["b"] != "2" || len(cs) != 2 || cs[0]["image"] != "a:2" || cs[1]["image"] != "b:2" {
		t.Fatalf("strategic merge patch: labels %v containers %v", labels, cs)
	}
	f.do(t, http.MethodPatch, pod, `[{"op":"test","path":"/metadata/labels/b","value":"3"}]`,
		"Content-Type", "application/json-patch+json").expect(t, 422,
		status(422, "Invalid", "the server rejected our request due to an error in our request", ""))
	f.do(t, http.MethodPatch, pod, `{"spec":`, "Content-Type", "application/strategic-merge-patch+json").expect(t, 400,
		status(400, "BadRequest", "unexpected EOF", ""))
	f.do(t, http.MethodPatch, pod, `{}`, "Content-Type", "text/plain").expect(t, 415,
		status(415, "UnsupportedMediaType", msgBuiltinPatchTypes, ""))
}

// B76: a custom resource accepts no strategic merge patch: 415, before
// the object is looked up; a JSON patch applies.
func TestPatch_B76_CustomResourceStrategic415(t *testing.T) {
	t.Parallel()
	widgets := &api.Resource{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespaced: true}
	e := etcdtest.Start(t)
	st := newStore(t, e, widgets)
	f := &fixture{etcd: e}
	f.srv, f.ts = serve(t, Config{Storages: []api.Storage{st}, Version: "test", Logger: quietLog})
	const path = "/apis/example.com/v1/namespaces/ns1/widgets/"
	const msg = "the body of the request was in an unknown format - accepted media types include: " +
		"application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
	f.do(t, http.MethodPatch, path+"missing", `{}`, "Content-Type", "application/strategic-merge-patch+json").expect(t, 415,
		status(415, "UnsupportedMediaType", msg, ""))
	add(t, st, "ns1", "w", nil)
	f.do(t, http.MethodPatch, path+"w", `{}`, "Content-Type", "application/strategic-merge-patch+json").expect(t, 415,
		status(415, "UnsupportedMediaType", msg, ""))
	labels, _ := patchedParts(t, f.do(t, http.MethodPatch, path+"w", `[{"op":"add","path":"/metadata/labels","value":{"x":"y"}}]`,
		"Content-Type", "application/json-patch+json"))
	if len(labels) != 1 || labels["x"] != "y" {
		t.Fatalf("JSON patch of a custom resource: labels %v", labels)
	}
}
