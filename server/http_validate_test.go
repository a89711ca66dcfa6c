package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestWrite_B70_Validation: the storage's validation over HTTP, as
// kube-apiserver answers it: 422 Invalid naming the kind and the object
// with one cause per field error; 400 for a body that does not decode into
// the kind's type (a patch: 422 on the field "patch"); a bare 500 (no reason, no details) for a create that
// carries a resourceVersion. Nothing is stored.
func TestWrite_B70_Validation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const pods = "/api/v1/namespaces/ns1/pods"
	const subdomain = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
	f.do(t, http.MethodPost, pods, `{"metadata":{"name":"INVALID_Name"},"spec":{"containers":[]}}`).expect(t, 422,
		`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",`+
			`"message":"Pod \"INVALID_Name\" is invalid: metadata.name: Invalid value: \"INVALID_Name\": `+subdomain+`",`+
			`"reason":"Invalid","details":{"name":"INVALID_Name","kind":"Pod","causes":[{"reason":"FieldValueInvalid",`+
			`"message":"Invalid value: \"INVALID_Name\": `+subdomain+`","field":"metadata.name"}]},"code":422}`)
	f.do(t, http.MethodPost, pods, `{"metadata":{"name":"p"},"spec":{"containers":"notalist"}}`).expect(t, 400,
		status(400, "BadRequest", `Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container`, ""))
	f.do(t, http.MethodPost, pods, `{"metadata":{"name":"p","resourceVersion":"5"}}`).expect(t, 500,
		`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"resourceVersion should not be set on objects to be created","code":500}`)

	p := add(t, f.pods, "ns1", "web", nil)
	f.do(t, http.MethodPut, pods+"/web", `{"metadata":{"name":"web","uid":"other"}}`).expect(t, 422,
		`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",`+
			`"message":"Pod \"web\" is invalid: metadata.uid: Invalid value: \"other\": field is immutable",`+
			`"reason":"Invalid","details":{"name":"web","kind":"Pod","causes":[{"reason":"FieldValueInvalid",`+
			`"message":"Invalid value: \"other\": field is immutable","field":"metadata.uid"}]},"code":422}`)
	got := f.do(t, http.MethodPatch, pods+"/web", `{"spec":{"containers":"notalist"}}`, "Content-Type", "application/merge-patch+json")
	if got.code != 422 || !strings.HasPrefix(got.body, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":" \"\" is invalid: patch: Invalid value: \"{`) ||
		!strings.Contains(got.body, `"reason":"Invalid","details":{"causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"{`) ||
		!strings.HasSuffix(strings.TrimSpace(got.body), `json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container","field":"patch"}]},"code":422}`) {
		t.Errorf("patch: %d %s", got.code, got.body)
	}
	if l, _ := f.pods.List(t.Context(), listOptsZero); len(l.Items) != 1 || l.Items[0].RV != p.RV {
		t.Errorf("a refused write reached the storage: %v", l.Items)
	}
}
