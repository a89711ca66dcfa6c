package server

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/watchcached/watchcached/api"
)

// TestStatus_Table: every api sentinel becomes the code, reason and details
// kube-apiserver gives (B4, B5, B15, B23, B32, B50-B52, B63).
func TestStatus_Table(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tooLarge := &api.Error{Err: api.ErrTooLargeRV, Message: "Too large resource version: 20, current: 10", RetryAfterSeconds: 1}
	notReady := &api.Error{Err: api.ErrNotReady, Message: "storage is (re)initializing", RetryAfterSeconds: 4}
	expired := &api.Error{Err: api.ErrExpired, Message: "The provided continue parameter is too old", Continue: "TOKEN"}
	for _, c := range []struct {
		name       string
		err        error
		body       string
		retryAfter string
	}{
		{"NotFound", api.Errorf(api.ErrNotFound, `pods "p" not found`),
			status(404, "NotFound", `pods "p" not found`, `{"name":"p","kind":"pods"}`), ""},
		{"AlreadyExists", api.Errorf(api.ErrAlreadyExists, `pods "p" already exists`),
			status(409, "AlreadyExists", `pods "p" already exists`, `{"name":"p","kind":"pods"}`), ""},
		{"Conflict", api.Errorf(api.ErrConflict, `Operation cannot be fulfilled`),
			status(409, "Conflict", `Operation cannot be fulfilled`, `{"name":"p","kind":"pods"}`), ""},
		{"Expired", api.Errorf(api.ErrExpired, `too old resource version: 3 (7)`),
			status(410, "Expired", `too old resource version: 3 (7)`, `{"name":"p","kind":"pods"}`), ""},
		{"TooLargeRV", tooLarge,
			status(504, "Timeout", `Too large resource version: 20, current: 10`,
				`{"name":"p","kind":"pods","causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}],"retryAfterSeconds":1}`), "1"},
		{"NotReady", notReady,
			status(429, "TooManyRequests", `storage is (re)initializing`, `{"name":"p","kind":"pods","retryAfterSeconds":4}`), "4"},
		{"Invalid", api.InvalidField("metadata.name", "A", "must be lower case"),
			status(422, "Invalid", `metadata.name: Invalid value: "A": must be lower case`,
				`{"causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"A\": must be lower case","field":"metadata.name"}]}`), ""},
		{"BadRequest", api.BadParam("x", "bad x"), status(400, "BadRequest", `bad x`, ""), ""},
		{"Unavailable", fmt.Errorf("get: %w", api.Errorf(api.ErrUnavailable, "etcd unreachable")),
			status(503, "ServiceUnavailable", `get: etcd unreachable`, `{"name":"p","kind":"pods"}`), ""},
		{"Timeout", api.Errorf(api.ErrTimeout, "timed out"),
			status(504, "Timeout", `timed out`, `{"name":"p","kind":"pods"}`), ""},
		{"Corrupt", api.Errorf(api.ErrCorrupt, "Internal error occurred: StorageError: corrupt object, Key: /k"),
			status(500, "InternalError", `Internal error occurred: StorageError: corrupt object, Key: /k`,
				`{"causes":[{"message":"StorageError: corrupt object, Key: /k"}]}`), ""},
		{"BareSentinel", api.ErrNotFound, status(404, "NotFound", `api: not found`, `{"name":"p","kind":"pods"}`), ""},
		{"Unknown", errors.New("secret internal detail"),
			status(500, "InternalError", `Internal error occurred: the server could not serve the request`, ""), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.pods.setErr(c.err)
			got := f.do(t, http.MethodGet, "/api/v1/namespaces/ns1/pods/p", "")
			got.expect(t, codeOf(c.body), c.body)
			if ra := got.header.Get("Retry-After"); ra != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", ra, c.retryAfter)
			}
		})
	}
	// B23: an expired continue token's replacement is in metadata.continue.
	f.pods.setErr(expired)
	f.do(t, http.MethodGet, "/api/v1/pods?limit=1&continue="+validToken, "").expect(t, 410,
		`{"kind":"Status","apiVersion":"v1","metadata":{"continue":"TOKEN"},"status":"Failure","message":"The provided continue parameter is too old","reason":"Expired","details":{"kind":"pods"},"code":410}`)
	// B15: not ready on a list: 429 with Retry-After, defaulting to 1 s.
	f.pods.setErr(api.Errorf(api.ErrNotReady, "storage is (re)initializing"))
	got := f.do(t, http.MethodGet, "/api/v1/pods", "")
	got.expect(t, 429, status(429, "TooManyRequests", "storage is (re)initializing", `{"kind":"pods","retryAfterSeconds":1}`))
	if got.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q", got.header.Get("Retry-After"))
	}
}

// TestStatus_PanicIs500: a panicking handler answers 500 and the server
// keeps serving.
func TestStatus_PanicIs500(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.pods.setErr(panicErr{})
	f.do(t, http.MethodGet, "/api/v1/pods", "").expect(t, 500,
		status(500, "InternalError", `Internal error occurred: the server could not serve the request`, ""))
	f.pods.setErr(nil)
	f.do(t, http.MethodGet, "/api/v1/pods", "").expect(t, 200,
		`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`)
}

// panicErr panics when the Status table asks it anything.
type panicErr struct{}

func (panicErr) Error() string { panic("boom") }
func (panicErr) Is(error) bool { panic("boom") }
