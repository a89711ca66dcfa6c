package server

import (
	"net/http"
	"strings"
	"testing"
)

const podBody = `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"ns1"}}`

// TestWrite_B50_Create: POST answers 201 with the stored object; a second
// create of the name is 409 AlreadyExists.
func TestWrite_B50_Create(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	got := f.do(t, http.MethodPost, "/api/v1/namespaces/ns1/pods", podBody, "Content-Type", "application/json")
	obj, err := f.pods.Get(t.Context(), "ns1", "web", getOptsZero)
	if err != nil {
		t.Fatal(err)
	}
	got.expect(t, 201, string(obj.Raw))
	f.do(t, http.MethodPost, "/api/v1/namespaces/ns1/pods", podBody).expect(t, 409,
		status(409, "AlreadyExists", `pods "web" already exists`, `{"kind":"pods"}`))
	// A cluster-scoped create and a create in a named group.
	f.do(t, http.MethodPost, "/api/v1/nodes", `{"metadata":{"name":"n1"}}`).expectCode(t, 201)
	f.do(t, http.MethodPost, "/apis/apps/v1/namespaces/ns1/deployments",
		`{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"d"}}`).expectCode(t, 201)
}

// TestWrite_BadBodies: bodies that are refused and store nothing (B50:
// namespace in body differs from path; other kind; not JSON; bad name: the
// storage's checks, as over gRPC; too large; wrong media type: the HTTP
// frontend's).
func TestWrite_BadBodies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	const pods = "/api/v1/namespaces/ns1/pods"
	for _, c := range []struct {
		name, method, path, body, ctype string
		want                            string
	}{
		{"NotJSON", http.MethodPost, pods, `not json`, "",
			status(400, "BadRequest", "the body of the request is not valid JSON: invalid character 'o' in literal null (expecting 'u')", "")},
		{"JSONArray", http.MethodPost, pods, `[1]`, "",
			status(400, "BadRequest", "the body of the request must be a JSON object", "")},
		{"OtherKind", http.MethodPost, pods, `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x"}}`, "",
			status(400, "BadRequest", "the kind in the data (ConfigMap) does not match the expected kind (Pod)", "")},
		{"OtherAPIVersion", http.MethodPost, pods, `{"kind":"Pod","apiVersion":"v2","metadata":{"name":"x"}}`, "",
			status(400, "BadRequest", "the API version in the data (v2) does not match the expected API version (v1)", "")},
		{"OtherNamespace", http.MethodPost, pods, `{"metadata":{"name":"x","namespace":"ns2"}}`, "",
			status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request", "")},
		{"NameWithSlash", http.MethodPost, pods, `{"metadata":{"name":"a/b"}}`, "",
			status(400, "BadRequest", `metadata.name "a/b" may not contain '/', '%' or NUL`, "")},
		{"NameDotDot", http.MethodPost, pods, `{"metadata":{"name":".."}}`, "",
			status(400, "BadRequest", `metadata.name may not be ".."`, "")},
		{"UpdateOtherName", http.MethodPut, pods + "/web", `{"metadata":{"name":"other"}}`, "",
			status(400, "BadRequest", "the name of the object (other) does not match the name on the URL (web)", "")},
		{"TooLarge", http.MethodPost, pods, `{"metadata":{"name":"x"},"pad":"` + strings.Repeat("x", 1100) + `"}`, "",
			status(413, "RequestEntityTooLarge", "Request entity too large: limit is 1024", "")},
		{"CreateYAML", http.MethodPost, pods, `{"metadata":{"name":"x"}}`, "application/yaml",
			status(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json", "")},
		{"PatchApplyNoManager", http.MethodPatch, pods + "/web", `{}`, "application/apply-patch+yaml",
			status(422, "Invalid", `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`,
				`{"group":"meta.k8s.io","kind":"PatchOptions","causes":[{"reason":"FieldValueRequired","message":"Required value: is required for apply patch","field":"fieldManager"}]}`)},
		{"PatchApplyCBOR", http.MethodPatch, pods + "/web", `{}`, "application/apply-patch+cbor",
			status(415, "UnsupportedMediaType", msgBuiltinPatchTypes, "")},
		{"PatchNoType", http.MethodPatch, pods + "/web", `{}`, "",
			status(415, "UnsupportedMediaType", msgBuiltinPatchTypes, "")},
		{"PatchJSONPatchNotList", http.MethodPatch, pods + "/web", `{}`, "application/json-patch+json",
			status(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch", "")},
		{"PatchNotObject", http.MethodPatch, pods + "/web", `"x"`, "application/merge-patch+json",
			status(400, "BadRequest", "the patch must be a JSON object", "")},
		{"DeleteBadOptions", http.MethodDelete, pods + "/web", `{"preconditions":7}`, "",
			status(400, "BadRequest", "invalid DeleteOptions: json: cannot unmarshal number into Go struct field deleteOptions.preconditions of type struct { UID *string \"json:\\\"uid\\\"\"; ResourceVersion *string \"json:\\\"resourceVersion\\\"\" }", "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.ctype != "" {
				hdr = []string{"Content-Type", c.ctype}
			}
			f.do(t, c.method, c.path, c.body, hdr...).expect(t, codeOf(c.want), c.want)
		})
	}
	if l, _ := f.pods.List(t.Context(), listOptsZero); len(l.Items) != 0 {
		t.Errorf("a rejected write reached the storage: %d objects", len(l.Items))
	}
}

// TestWrite_B51_B53_B52_UpdatePatchDelete: PUT with a stale RV is 409
// Conflict, a current one 200; a merge patch 200; DELETE with a failing
// precondition 409, then 200 with the last state; then 404.
func TestWrite_B51_B53_B52_UpdatePatchDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := add(t, f.pods, "ns1", "web", nil) // RV 2
	const path = "/api/v1/namespaces/ns1/pods/web"
	f.do(t, http.MethodPut, path, `{"metadata":{"name":"web","resourceVersion":"1"}}`).expect(t, 409,
		status(409, "Conflict", `Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again`,
			`{"name":"web","kind":"pods"}`))
	got := f.do(t, http.MethodPut, path, `{"metadata":{"name":"web","resourceVersion":"2"},"spec":{"hostname":"a"}}`)
	if got.code != 200 || !strings.Contains(got.body, `"resourceVersion":"3"`) || !strings.Contains(got.body, `"spec":{"hostname":"a"}`) {
		t.Fatalf("update: %d %s", got.code, got.body)
	}
	got = f.do(t, http.MethodPatch, path, `{"spec":{"subdomain":"b"}}`, "Content-Type", "application/merge-patch+json")
	if got.code != 200 || !strings.Contains(got.body, `"spec":{"hostname":"a","subdomain":"b"}`) {
		t.Fatalf("patch: %d %s", got.code, got.body)
	}
	f.do(t, http.MethodDelete, path, `{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"`+p.UID+`","resourceVersion":"3"}}`).
		expect(t, 409, status(409, "Conflict", `Precondition failed: ResourceVersion in precondition: 3, ResourceVersion in object meta: 4`, `{"name":"web","kind":"pods"}`))
	got = f.do(t, http.MethodDelete, path, `{"preconditions":{"resourceVersion":"4"}}`)
	if got.code != 200 || !strings.Contains(got.body, `"resourceVersion":"5"`) {
		t.Fatalf("delete: %d %s", got.code, got.body)
	}
	f.do(t, http.MethodDelete, path, "").expect(t, 404, status(404, "NotFound", `pods "web" not found`, `{"name":"web","kind":"pods"}`))
}

func (r response) expectCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Errorf("got %d %s, want %d", r.code, r.body, code)
	}
}
