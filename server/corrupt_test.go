package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestCorrupt_B62_HTTP: over the real etcdstore, a value that does not
// decode answers 500 naming the key to GET, PUT, PATCH and DELETE, is
// skipped by LIST, keeps its name taken for POST (409), and is removed by
// a DELETE with ignoreStoreReadErrorWithClusterBreakingPotential (in the
// body or the query), which answers kube-apiserver's Success Status; the
// name can then be created. The option is refused with 422 on a healthy or
// absent object and together with the options kube-apiserver refuses.
func TestCorrupt_B62_HTTP(t *testing.T) {
	t.Parallel()
	f := newEtcdFixture(t)
	const coll = "/api/v1/namespaces/ns1/configmaps"
	f.do(t, http.MethodPost, coll, `{"metadata":{"name":"ok"}}`).expectCode(t, 201)
	const key = "/registry/configmaps/ns1/bad"
	resp, err := f.etcd.Client.Put(t.Context(), key, "{garbage")
	if err != nil {
		t.Fatal(err)
	}
	cause := fmt.Sprintf("StorageError: corrupt object, Code: 7, Key: %s, ResourceVersion: 0, AdditionalErrorMsg: object not decodable revision=%d: not JSON: invalid JSON",
		key, resp.Header.Revision)
	want500 := status(500, "InternalError", "Internal error occurred: "+cause, `{"causes":[{"message":`+quote(cause)+`}]}`)
	const bad = coll + "/bad"
	const merge = "application/merge-patch+json"
	f.do(t, http.MethodGet, bad, "").expect(t, 500, want500)
	f.do(t, http.MethodGet, bad+"?resourceVersion=0", "").expect(t, 500, want500)
	f.do(t, http.MethodPut, bad, `{"metadata":{"name":"bad"}}`).expect(t, 500, want500)
	f.do(t, http.MethodPatch, bad, `{"data":{"a":"b"}}`, "Content-Type", merge).expect(t, 500, want500)
	f.do(t, http.MethodDelete, bad, "").expect(t, 500, want500)
	f.do(t, http.MethodDelete, bad, `{"ignoreStoreReadErrorWithClusterBreakingPotential":false}`).expect(t, 500, want500)
	f.do(t, http.MethodPost, coll, `{"metadata":{"name":"bad"}}`).expect(t, 409,
		status(409, "AlreadyExists", `configmaps "bad" already exists`, `{"kind":"configmaps"}`))
	list := f.do(t, http.MethodGet, coll, "")
	if list.code != 200 || !strings.Contains(list.body, `"name":"ok"`) || strings.Contains(list.body, `"bad"`) {
		t.Fatalf("list: %d %s", list.code, list.body)
	}

	const field = "ignoreStoreReadErrorWithClusterBreakingPotential"
	notCorrupt := func(name string) string {
		detail := "Invalid value: true: is exclusively used to delete corrupt object(s), try again by removing this option"
		return status(422, "Invalid", `configmaps "`+name+`" is invalid: `+field+": "+detail,
			`{"causes":[{"reason":"FieldValueInvalid","message":"`+detail+`","field":"`+field+`"}]}`)
	}
	optsInvalid := func(msg, first string) string {
		return status(422, "Invalid", `DeleteOptions.meta.k8s.io "" is invalid: `+msg,
			`{"causes":[{"reason":"FieldValueInvalid","message":`+quote(first)+`,"field":"`+field+`"}]}`)
	}
	const option = `{"kind":"DeleteOptions","apiVersion":"v1","ignoreStoreReadErrorWithClusterBreakingPotential":true}`
	f.do(t, http.MethodDelete, coll+"/ok", option).expect(t, 422, notCorrupt("ok"))
	f.do(t, http.MethodDelete, coll+"/ok?"+field+"=true", "").expect(t, 422, notCorrupt("ok"))
	f.do(t, http.MethodDelete, coll+"/absent", option).expect(t, 422, notCorrupt("absent"))
	withPre := `Invalid value: true: cannot be set together with .preconditions`
	f.do(t, http.MethodDelete, bad, `{"`+field+`":true,"preconditions":{"uid":"x"}}`).
		expect(t, 422, optsInvalid(field+": "+withPre, withPre))
	withGrace := `Invalid value: true: cannot be set together with .gracePeriodSeconds`
	f.do(t, http.MethodDelete, bad, `{"`+field+`":true,"gracePeriodSeconds":0,"preconditions":{}}`).
		expect(t, 422, status(422, "Invalid", `DeleteOptions.meta.k8s.io "" is invalid: [`+field+": "+withGrace+", "+field+": "+withPre+"]", ""))
	f.do(t, http.MethodDelete, bad+"?"+field+"=true&propagationPolicy=Background", "").
		expect(t, 422, optsInvalid(field+": Invalid value: true: cannot be set together with .propagationPolicy",
			"Invalid value: true: cannot be set together with .propagationPolicy"))
	f.do(t, http.MethodDelete, bad+"?"+field+"=yes", "").expect(t, 400,
		status(400, "BadRequest", `invalid `+field+`: "yes" is not a boolean`, ""))
	f.do(t, http.MethodGet, coll+"/ok", "").expectCode(t, 200)
	f.do(t, http.MethodGet, bad, "").expect(t, 500, want500)

	f.do(t, http.MethodDelete, bad, option).expect(t, 200,
		`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"bad","kind":"ConfigMap"},"code":200}`)
	if v, _ := f.raw(t, key); v != "" {
		t.Fatalf("corrupt value still stored: %q", v)
	}
	f.do(t, http.MethodGet, bad, "").expect(t, 404,
		status(404, "NotFound", `configmaps "bad" not found`, `{"name":"bad","kind":"configmaps"}`))
	f.do(t, http.MethodPost, coll, `{"metadata":{"name":"bad"}}`).expectCode(t, 201)

	// The same removal by a query option, on a second corrupt value.
	if _, err := f.etcd.Client.Put(t.Context(), "/registry/configmaps/ns1/bad2", "7"); err != nil {
		t.Fatal(err)
	}
	f.do(t, http.MethodDelete, coll+"/bad2?"+field+"=true", "").expect(t, 200,
		`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"bad2","kind":"ConfigMap"},"code":200}`)
	f.do(t, http.MethodGet, coll+"/bad2", "").expectCode(t, 404)
}

// TestCorrupt_B62_NoDeleter: a storage that cannot remove corrupt values
// answers the option with kube-apiserver's 500 and deletes nothing.
func TestCorrupt_B62_NoDeleter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	add(t, f.pods, "ns1", "web", nil)
	f.do(t, http.MethodDelete, "/api/v1/namespaces/ns1/pods/web", `{"ignoreStoreReadErrorWithClusterBreakingPotential":true}`).
		expect(t, 500, status(500, "InternalError",
			"Internal error occurred: no unsafe deleter provided, can not honor ignoreStoreReadErrorWithClusterBreakingPotential", ""))
	f.do(t, http.MethodGet, "/api/v1/namespaces/ns1/pods/web", "").expectCode(t, 200)
}
