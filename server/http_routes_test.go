package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	notFoundBody   = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404}`
	notAllowedBody = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server does not allow this method on the requested resource","reason":"MethodNotAllowed","code":405}`
)

func TestRoutes_NotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, p := range []string{
		"/", "/foo", "/api/v2/pods", "/api/v1/widgets", "/apis/batch/v1/jobs", "/apis/apps/v2/deployments",
		"/apis/apps/v1/pods",                               // pods are core, not apps
		"/api/v1/namespaces/ns1/pods/p1/status",            // subresources are not served
		"/api/v1/namespaces/ns1/nodes",                     // nodes are cluster-scoped
		"/api/v1/namespaces/ns1/nodes/n1",                  //
		"/api/v1/pods/p1",                                  // a pod needs its namespace
		"/apis/apps/v1/namespaces/ns1/deployments/d/scale", //
		"/apis/nosuchgroup",
	} {
		t.Run(p, func(t *testing.T) {
			f.do(t, http.MethodGet, p, "").expect(t, http.StatusNotFound, notFoundBody)
		})
	}
}

func TestRoutes_MethodNotAllowed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/namespaces/ns1/pods/p1"},
		{http.MethodPut, "/api/v1/namespaces/ns1/pods"},
		{http.MethodPatch, "/api/v1/namespaces/ns1/pods"},
		{http.MethodDelete, "/api/v1/namespaces/ns1/pods"}, // no deletecollection
		{http.MethodPost, "/api/v1/pods"},                  // create needs a namespace
		{http.MethodOptions, "/api/v1/pods"},
		{http.MethodPost, "/api/v1"},
		{http.MethodDelete, "/apis"},
		{http.MethodPut, "/version"},
	} {
		t.Run(c.method+c.path, func(t *testing.T) {
			f.do(t, c.method, c.path, `{}`).expect(t, http.StatusMethodNotAllowed, notAllowedBody)
		})
	}
}

func TestRoutes_BadNames(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, c := range []struct{ method, path, msg string }{
		{http.MethodGet, "/api/v1/namespaces/ns1/pods/..", `name may not be ".."`},
		{http.MethodGet, "/api/v1/namespaces/ns1/pods/.", `name may not be "."`},
		{http.MethodGet, "/api/v1/namespaces/ns1/pods/a%2Fb", `name "a/b" may not contain '/', '%' or NUL`},
		{http.MethodDelete, "/api/v1/nodes/a%2F..", `name "a/.." may not contain '/', '%' or NUL`},
		{http.MethodGet, "/api/v1/namespaces/../pods", `namespace may not be ".."`},
		{http.MethodGet, "/api/v1/namespaces/a%2Fb/pods/p", `namespace "a/b" may not contain '/', '%' or NUL`},
	} {
		t.Run(c.path, func(t *testing.T) {
			f.do(t, c.method, c.path, "").expect(t, http.StatusBadRequest, status(400, "BadRequest", c.msg, ""))
		})
	}
}

// TestParams_BadValues covers B6, B16, B22, B24 and B36 as they reach HTTP:
// every malformed parameter names itself in a 400, every bad combination
// gives kube-apiserver's 422.
func TestParams_BadValues(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, c := range []struct{ path, body string }{
		{"/api/v1/pods?resourceVersion=abc", status(400, "BadRequest", `invalid resourceVersion: "abc" is not a non-negative integer`, "")},
		{"/api/v1/pods?resourceVersion=-1", status(400, "BadRequest", `invalid resourceVersion: "-1" is not a non-negative integer`, "")},
		{"/api/v1/namespaces/ns1/pods/p1?resourceVersion=01", status(400, "BadRequest", `invalid resourceVersion: "01" is not a non-negative integer`, "")},
		{"/api/v1/pods?watch=1&resourceVersion=x", status(400, "BadRequest", `invalid resourceVersion: "x" is not a non-negative integer`, "")},
		{"/api/v1/pods?limit=abc", status(400, "BadRequest", `invalid limit: "abc" is not an integer`, "")},
		{"/api/v1/pods?limit=-5", status(400, "BadRequest", `invalid limit: -5 must not be negative`, "")},
		{"/api/v1/pods?continue=%21%21", status(400, "BadRequest", `invalid continue token: not base64url`, "")},
		{"/api/v1/pods?continue=e30", status(400, "BadRequest", `invalid continue token: unknown version`, "")},
		{"/api/v1/pods?labelSelector=a%20in%20(", status(400, "BadRequest", "", "")},
		{"/api/v1/pods?fieldSelector=spec.foo%3Dx", status(400, "BadRequest", `field label not supported: spec.foo`, "")},
		{"/api/v1/pods?fieldSelector=a", status(400, "BadRequest", "", "")},
		{"/api/v1/pods?watch=maybe", status(400, "BadRequest", `invalid watch: "maybe" is not a boolean`, "")},
		{"/api/v1/pods?watch=1&allowWatchBookmarks=yes", status(400, "BadRequest", `invalid allowWatchBookmarks: "yes" is not a boolean`, "")},
		{"/api/v1/pods?timeoutSeconds=x", status(400, "BadRequest", `invalid timeoutSeconds: "x" is not an integer`, "")},
		{"/api/v1/pods?watch=true&timeoutSeconds=-1", status(400, "BadRequest", `invalid timeoutSeconds: -1 must not be negative`, "")},
		{"/api/v1/pods?resourceVersion=5&continue=" + validToken, status(400, "BadRequest", `specifying resource version is not allowed when using continue`, "")},
		// B16: 422 for bad combinations on a list.
		{"/api/v1/pods?resourceVersionMatch=Exact", status(422, "Invalid",
			`resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided`,
			`{"causes":[{"reason":"FieldValueForbidden","message":"Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided","field":"resourceVersionMatch"}]}`)},
		{"/api/v1/pods?resourceVersion=1&resourceVersionMatch=Newest", status(422, "Invalid",
			`resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan"`,
			`{"causes":[{"reason":"FieldValueNotSupported","message":"Unsupported value: \"Newest\": supported values: \"Exact\", \"NotOlderThan\"","field":"resourceVersionMatch"}]}`)},
		{"/api/v1/pods?sendInitialEvents=true", status(422, "Invalid",
			`sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list`,
			`{"causes":[{"reason":"FieldValueForbidden","message":"Forbidden: sendInitialEvents is forbidden for list","field":"sendInitialEvents"}]}`)},
		// B36: 422 for bad combinations on a watch, before the stream starts.
		{"/api/v1/pods?watch=1&sendInitialEvents=true", status(422, "Invalid",
			`resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan`,
			`{"causes":[{"reason":"FieldValueForbidden","message":"Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan","field":"resourceVersionMatch"}]}`)},
		{"/api/v1/pods?watch=1&resourceVersionMatch=NotOlderThan", status(422, "Invalid",
			`resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided`,
			`{"causes":[{"reason":"FieldValueForbidden","message":"Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided","field":"resourceVersionMatch"}]}`)},
	} {
		t.Run(c.path, func(t *testing.T) {
			got := f.do(t, http.MethodGet, c.path, "")
			if strings.Contains(c.body, `"message":""`) {
				// Messages from the selector parsers are theirs; check the rest.
				if got.code != http.StatusBadRequest || !strings.Contains(got.body, `"reason":"BadRequest"`) {
					t.Errorf("got %d %s, want 400 BadRequest", got.code, got.body)
				}
				return
			}
			got.expect(t, codeOf(c.body), c.body)
		})
	}
}

const validToken = "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6Mywic3RhcnQiOiJuczEvYVx1MDAwMCJ9"

func codeOf(statusBody string) int {
	for _, c := range []int{400, 404, 405, 409, 410, 413, 415, 422, 429, 500, 503, 504} {
		if strings.Contains(statusBody, `"code":`+itoa(c)+`}`) {
			return c
		}
	}
	return 0
}

// TestTimeoutSeconds_NoOverflow: a huge timeoutSeconds is capped, never
// wrapped into a negative duration that would end the request at once.
func TestTimeoutSeconds_NoOverflow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, n := range []string{"10000000000", "9223372036854775807"} {
		q, err := httpQuery(url.Values{"timeoutSeconds": {n}}, verbWatch)
		if err != nil {
			t.Fatalf("timeoutSeconds=%s: %v", n, err)
		}
		if d := f.srv.watchTimeout(q.timeoutSeconds); d < 100*365*24*time.Hour {
			t.Errorf("timeoutSeconds=%s: %v", n, d)
		}
	}
	if d := secondsDuration(3); d != 3*time.Second {
		t.Errorf("3s: %v", d)
	}
}
