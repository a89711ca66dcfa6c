package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// TestFieldValidation_B212_ThreeModes: an unknown field of a built-in
// kind is, under Strict, kube-apiserver's 400 for a create or update and
// its 422 for a patch; under Warn (also the default) the write is carried
// out without the field and answers one Warning header per field; under
// Ignore likewise without the header. Duplicate fields count the same way.
// Another value is 422.
func TestFieldValidation_B212_ThreeModes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const pods = "/api/v1/namespaces/ns1/pods"
	const unknown = `{"metadata":{"name":"NAME"},"spec":{"foo":1,"hostname":"h"}}`
	f.do(t, http.MethodPost, pods+"?fieldValidation=Strict", strings.Replace(unknown, "NAME", "s", 1)).expect(t, 400,
		status(400, "BadRequest", `Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.foo"`, ""))
	f.do(t, http.MethodPost, pods+"?fieldValidation=Strict", `{"metadata":{"name":"s"},"spec":{"hostname":"a","hostname":"b"}}`).expect(t, 400,
		status(400, "BadRequest", `Pod in version "v1" cannot be handled as a Pod: strict decoding error: duplicate field "spec.hostname"`, ""))
	for _, c := range []struct {
		mode    string
		warning []string
	}{
		{"", []string{`299 - "unknown field \"spec.foo\""`}},
		{"Warn", []string{`299 - "unknown field \"spec.foo\""`}},
		{"Ignore", nil},
	} {
		name := strings.ToLower(c.mode) + "x"
		got := f.do(t, http.MethodPost, pods+"?fieldValidation="+c.mode, strings.Replace(unknown, "NAME", name, 1))
		if got.code != 201 || strings.Contains(got.body, "foo") || !strings.Contains(got.body, `"spec":{"hostname":"h"}`) ||
			!reflect.DeepEqual(got.header.Values("Warning"), c.warning) {
			t.Fatalf("%q: %d %v %s", c.mode, got.code, got.header.Values("Warning"), got.body)
		}
		stored, err := f.pods.Get(t.Context(), "ns1", name, getOptsZero)
		if err != nil || strings.Contains(string(stored.Raw), "foo") {
			t.Fatalf("%q: stored %v %v", c.mode, stored, err)
		}
	}
	got := f.do(t, http.MethodPut, pods+"/x", `{"metadata":{"name":"x"},"spec":{"bar":{"baz":1},"hostname":"h","hostname":"i"}}`)
	if got.code != 200 || strings.Contains(got.body, "bar") || !strings.Contains(got.body, `"hostname":"i"`) ||
		!reflect.DeepEqual(got.header.Values("Warning"), []string{`299 - "unknown field \"spec.bar\""`, `299 - "duplicate field \"spec.hostname\""`}) {
		t.Fatalf("update: %d %v %s", got.code, got.header.Values("Warning"), got.body)
	}
	cur := f.do(t, http.MethodGet, pods+"/x", "")
	got = f.do(t, http.MethodPatch, pods+"/x?fieldValidation=Strict", `{"spec":{"foo":1}}`, "Content-Type", "application/merge-patch+json")
	var obj map[string]any
	if err := json.Unmarshal([]byte(cur.body), &obj); err != nil {
		t.Fatal(err)
	}
	obj["spec"].(map[string]any)["foo"] = 1
	patched, _ := json.Marshal(obj)
	msg := fmt.Sprintf("Invalid value: %q: strict decoding error: unknown field \"spec.foo\"", patched)
	got.expect(t, 422, status(422, "Invalid", ` "" is invalid: patch: `+msg,
		`{"causes":[{"reason":"FieldValueInvalid","message":`+jsonString(t, msg)+`,"field":"patch"}]}`))
	got = f.do(t, http.MethodPatch, pods+"/x?fieldValidation=Warn", `{"spec":{"foo":1,"foo":2}}`, "Content-Type", "application/merge-patch+json")
	if got.code != 200 || strings.Contains(got.body, "foo") ||
		!reflect.DeepEqual(got.header.Values("Warning"), []string{`299 - "duplicate field \"spec.foo\""`, `299 - "unknown field \"spec.foo\""`}) {
		t.Fatalf("patch: %d %v %s", got.code, got.header.Values("Warning"), got.body)
	}
	got = f.do(t, http.MethodPatch, pods+"/x?fieldManager=m&fieldValidation=Strict", "metadata:\n  name: x\n  name: x\n", "Content-Type", applyType)
	got.expect(t, 400, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",`+
		`"message":"error strict decoding patch: error converting YAML to JSON: yaml: unmarshal errors:\n  line 3: key \"name\" already set in map",`+
		`"reason":"BadRequest","code":400}`)
	f.do(t, http.MethodPost, pods+"?fieldValidation=Loose", `{"metadata":{"name":"y"}}`).expect(t, 422, status(422, "Invalid",
		`CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"`,
		`{"group":"meta.k8s.io","kind":"CreateOptions","causes":[{"reason":"FieldValueNotSupported","message":"Unsupported value: \"Loose\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"","field":"fieldValidation"}]}`))
}

// TestFieldValidation_B212_CustomResourceKeepsFields: a kind outside
// client-go's scheme has no schema here, so its fields are kept in every
// mode, with no warning.
func TestFieldValidation_B212_CustomResourceKeepsFields(t *testing.T) {
	t.Parallel()
	widgets := &api.Resource{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespaced: true}
	e := etcdtest.Start(t)
	f := &fixture{etcd: e}
	f.srv, f.ts = serve(t, Config{Storages: []api.Storage{newStore(t, e, widgets)}, Logger: quietLog})
	got := f.do(t, http.MethodPost, "/apis/example.com/v1/namespaces/ns1/widgets?fieldValidation=Strict",
		`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"anything":{"x":1}}}`)
	if got.code != 201 || !strings.Contains(got.body, `"spec":{"anything":{"x":1}}`) || len(got.header.Values("Warning")) != 0 {
		t.Fatalf("custom resource: %d %v %s", got.code, got.header.Values("Warning"), got.body)
	}
}

// jsonString is s as a JSON string.
func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
