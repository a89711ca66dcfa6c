package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

var (
	statusPodsRes = &api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true,
		Subresources: &api.Subresources{Status: &api.StatusSubresource{}}}
	scaleDeploymentsRes = &api.Resource{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true,
		Subresources: &api.Subresources{Status: &api.StatusSubresource{}, Scale: &api.ScaleSubresource{
			SpecReplicasPath: ".spec.replicas", StatusReplicasPath: ".status.replicas", LabelSelectorPath: ".spec.selector"}}}
)

// subFixture serves pods and deployments with their subresources over a
// real etcd.
func subFixture(t *testing.T) *fixture {
	t.Helper()
	e := etcdtest.Start(t)
	f := &fixture{etcd: e}
	f.srv, f.ts = serve(t, Config{Storages: []api.Storage{newStore(t, e, statusPodsRes), newStore(t, e, scaleDeploymentsRes)}, Logger: quietLog})
	return f
}

// objMeta reads metadata's uid, resourceVersion and creationTimestamp.
func objMeta(t *testing.T, body string) (uid, rv, ts string) {
	t.Helper()
	var o struct {
		Metadata struct{ UID, ResourceVersion, CreationTimestamp string } `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return o.Metadata.UID, o.Metadata.ResourceVersion, o.Metadata.CreationTimestamp
}

// TestSubresource_B220_StatusWrites: a create starts a pod Pending with
// its QoS class; a PUT of the object keeps the stored status; a PUT or
// PATCH of /status changes only the status, with the body's
// resourceVersion a precondition; GET of /status is the object.
func TestSubresource_B220_StatusWrites(t *testing.T) {
	t.Parallel()
	f := subFixture(t)
	const pods = "/api/v1/namespaces/ns1/pods"
	c := doSub(t, f, http.MethodPost, pods, `{"metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"i"}]},"status":{"phase":"Running"}}`)
	uid, rv, ts := objMeta(t, c.body)
	meta := func(rv, gen string) string {
		return `{"resourceVersion":"` + rv + `","creationTimestamp":"` + ts + `","generation":` + gen + `,"name":"a","namespace":"ns1","uid":"` + uid + `"}`
	}
	spec := `"spec":{"containers":[{"image":"i","name":"c"}]}`
	pod := func(rv, gen, rest string) string {
		return `{"apiVersion":"v1","kind":"Pod","metadata":` + meta(rv, gen) + `,` + rest + `}`
	}
	c.expect(t, 201, pod(rv, "1", spec+`,"status":{"phase":"Pending","qosClass":"BestEffort"}`))

	// The object's own update changes the spec, not the status.
	u := doSub(t, f, http.MethodPut, pods+"/a", `{"metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"j"}]},"status":{"phase":"Failed"}}`)
	_, rv2, _ := objMeta(t, u.body)
	u.expect(t, 200, pod(rv2, "2", `"spec":{"containers":[{"image":"j","name":"c"}]},"status":{"phase":"Pending","qosClass":"BestEffort"}`))
	p := doSub(t, f, http.MethodPatch, pods+"/a", `{"status":{"phase":"Failed"}}`, "Content-Type", "application/merge-patch+json")
	p.expect(t, 200, pod(rv2, "2", `"spec":{"containers":[{"image":"j","name":"c"}]},"status":{"phase":"Pending","qosClass":"BestEffort"}`))

	// /status changes the status only; a stale resourceVersion is 409.
	s := doSub(t, f, http.MethodPut, pods+"/a/status", `{"metadata":{"name":"a","resourceVersion":"`+rv2+`","labels":{"x":"y"}},"spec":{},"status":{"phase":"Running","podIP":"10.0.0.1"}}`)
	_, rv3, _ := objMeta(t, s.body)
	want3 := pod(rv3, "2", `"spec":{"containers":[{"image":"j","name":"c"}]},"status":{"phase":"Running","podIP":"10.0.0.1"}`)
	s.expect(t, 200, want3)
	doSub(t, f, http.MethodPut, pods+"/a/status", `{"metadata":{"name":"a","resourceVersion":"`+rv2+`"},"status":{}}`).expect(t, 409,
		status(409, "Conflict", `Operation cannot be fulfilled on pods "a": the object has been modified; please apply your changes to the latest version and try again`,
			`{"name":"a","kind":"pods"}`))
	doSub(t, f, http.MethodGet, pods+"/a/status", "").expect(t, 200, want3)
	sp := doSub(t, f, http.MethodPatch, pods+"/a/status", `{"spec":{"nodeName":"n1"},"status":{"podIP":null,"phase":"Succeeded"}}`,
		"Content-Type", "application/merge-patch+json")
	_, rv4, _ := objMeta(t, sp.body)
	sp.expect(t, 200, pod(rv4, "2", `"spec":{"containers":[{"image":"j","name":"c"}]},"status":{"phase":"Succeeded"}`))

	// Only get, update and patch; no subresource for what is not configured.
	doSub(t, f, http.MethodDelete, pods+"/a/status", "").expect(t, 405, status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", ""))
	doSub(t, f, http.MethodGet, pods+"/a/scale", "").expect(t, 404, status(404, "NotFound", msgNoSuchResource, ""))
	doSub(t, f, http.MethodGet, pods+"/a/log", "").expect(t, 404, status(404, "NotFound", msgNoSuchResource, ""))
}

// TestSubresource_B221_CreateClearsStatus: a deployment starts with an
// empty status, whatever the create gives.
func TestSubresource_B221_CreateClearsStatus(t *testing.T) {
	t.Parallel()
	f := subFixture(t)
	c := doSub(t, f, http.MethodPost, "/apis/apps/v1/namespaces/ns1/deployments", `{"metadata":{"name":"d"},"status":{"replicas":5}}`)
	uid, rv, ts := objMeta(t, c.body)
	c.expect(t, 201, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"resourceVersion":"`+rv+`","creationTimestamp":"`+ts+
		`","generation":1,"name":"d","namespace":"ns1","uid":"`+uid+`"},"status":{}}`)
}

// TestSubresource_B222_Scale: GET, PUT and PATCH of a deployment's
// autoscaling/v1 Scale, with exact bodies, uid and resourceVersion
// preconditions and validation.
func TestSubresource_B222_Scale(t *testing.T) {
	t.Parallel()
	f := subFixture(t)
	const deps = "/apis/apps/v1/namespaces/ns1/deployments"
	c := doSub(t, f, http.MethodPost, deps, `{"metadata":{"name":"d"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"d","tier":"web"}}}}`)
	uid, rv, ts := objMeta(t, c.body)
	scale := func(rv string, spec, status string) string {
		return `{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"d","namespace":"ns1","uid":"` + uid +
			`","resourceVersion":"` + rv + `","creationTimestamp":"` + ts + `"},"spec":` + spec + `,"status":` + status + `}`
	}
	doSub(t, f, http.MethodGet, deps+"/d/scale", "").expect(t, 200, scale(rv, `{"replicas":2}`, `{"replicas":0,"selector":"app=d,tier=web"}`))

	put := doSub(t, f, http.MethodPut, deps+"/d/scale", `{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"d"},"spec":{"replicas":3}}`)
	_, rv2, _ := objMeta(t, put.body)
	put.expect(t, 200, scale(rv2, `{"replicas":3}`, `{"replicas":0,"selector":"app=d,tier=web"}`))
	doSub(t, f, http.MethodPut, deps+"/d/scale", `{"metadata":{"name":"d","resourceVersion":"`+rv+`"},"spec":{"replicas":4}}`).expect(t, 409,
		status(409, "Conflict", `Operation cannot be fulfilled on deployments.apps "d": the object has been modified; please apply your changes to the latest version and try again`,
			`{"name":"d","group":"apps","kind":"deployments"}`))
	doSub(t, f, http.MethodPut, deps+"/d/scale", `{"metadata":{"name":"d","uid":"other"},"spec":{"replicas":4}}`).expect(t, 409,
		status(409, "Conflict", `Operation cannot be fulfilled on deployments/scale.apps "d": Precondition failed: UID in precondition: other, UID in object meta: `+uid,
			`{"name":"d","group":"apps","kind":"deployments"}`))
	doSub(t, f, http.MethodPut, deps+"/d/scale", `{"metadata":{"name":"d"},"spec":{"replicas":-1}}`).expect(t, 422,
		status(422, "Invalid", `Scale.autoscaling "d" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`,
			`{"name":"d","group":"autoscaling","kind":"Scale","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: -1: must be greater than or equal to 0","field":"spec.replicas"}]}`))

	p := doSub(t, f, http.MethodPatch, deps+"/d/scale", `{"spec":{"replicas":0}}`, "Content-Type", "application/merge-patch+json")
	_, rv3, _ := objMeta(t, p.body)
	p.expect(t, 200, scale(rv3, `{}`, `{"replicas":0,"selector":"app=d,tier=web"}`))
	got := doSub(t, f, http.MethodGet, deps+"/d", "")
	want := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"resourceVersion":"` + rv3 + `","creationTimestamp":"` + ts +
		`","generation":3,"name":"d","namespace":"ns1","uid":"` + uid + `"},"spec":{"replicas":0,"selector":{"matchLabels":{"app":"d","tier":"web"}}},"status":{}}`
	got.expect(t, 200, want)
	jp := doSub(t, f, http.MethodPatch, deps+"/d/scale", `[{"op":"replace","path":"/spec/replicas","value":5}]`, "Content-Type", "application/json-patch+json")
	_, rv4, _ := objMeta(t, jp.body)
	jp.expect(t, 200, scale(rv4, `{"replicas":5}`, `{"replicas":0,"selector":"app=d,tier=web"}`))
}

// TestSubresource_B223_Discovery lists the subresources after their
// resource, as kube-apiserver does.
func TestSubresource_B223_Discovery(t *testing.T) {
	t.Parallel()
	f := subFixture(t)
	doSub(t, f, http.MethodGet, "/apis/apps/v1", "").expect(t, 200, `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"apps/v1","resources":[`+
		`{"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},`+
		`{"name":"deployments/scale","singularName":"","namespaced":true,"group":"autoscaling","version":"v1","kind":"Scale","verbs":["get","patch","update"]},`+
		`{"name":"deployments/status","singularName":"","namespaced":true,"kind":"Deployment","verbs":["get","patch","update"]}]}`)
}

// doSub is f.do with metadata.managedFields cut out of the answer: what
// the subresource tests check is the object, and managedFields, which
// every write records, are checked by the B210 tests.
func doSub(t *testing.T, f *fixture, method, path, body string, headers ...string) response {
	t.Helper()
	r := f.do(t, method, path, body, headers...)
	r.body = withoutManagedFields(r.body)
	return r
}

// withoutManagedFields removes `"managedFields":[...],` from a JSON body.
func withoutManagedFields(body string) string {
	const key = `"managedFields":`
	i := strings.Index(body, key)
	if i < 0 {
		return body
	}
	dec := json.NewDecoder(strings.NewReader(body[i+len(key):]))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return body
	}
	end := i + len(key) + int(dec.InputOffset())
	if end < len(body) && body[end] == ',' {
		end++
	}
	return body[:i] + body[end:]
}
