package etcdstore_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
)

const podWithContainers = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"s","namespace":"ns","labels":{"a":"1","b":"2"}},` +
	`"spec":{"containers":[{"name":"a","image":"a:1"},{"name":"b","image":"b:1"}]}}`

// createS creates the pod "s" with two containers.
func (e *env) createS() *api.Object {
	e.t.Helper()
	obj, err := e.s.Create(e.ctx, "ns", []byte(podWithContainers))
	if err != nil {
		e.t.Fatal(err)
	}
	return obj
}

// wantParts fails unless obj's labels and spec are, as JSON, exactly
// labels and spec.
func wantParts(t *testing.T, obj *api.Object, labels, spec string) {
	t.Helper()
	var o struct {
		Metadata struct {
			Labels json.RawMessage `json:"labels"`
		} `json:"metadata"`
		Spec json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(obj.Raw, &o); err != nil {
		t.Fatal(err)
	}
	if string(o.Metadata.Labels) != labels || string(o.Spec) != spec {
		t.Fatalf("labels %s spec %s, want %s and %s", o.Metadata.Labels, o.Spec, labels, spec)
	}
}

func jsonPatch(s string) api.Patch { return api.Patch{Type: api.JSONPatch, Data: []byte(s)} }

func strategicPatch(s string) api.Patch {
	return api.Patch{Type: api.StrategicMergePatch, Data: []byte(s)}
}

// B75: an RFC 6902 JSON patch applies its operations in order; a failed
// test is kube-apiserver's 422, a patch that is not a list of operations
// a 400, one of more than 10000 operations a 413; nothing is written.
func TestPatch_B75_JSONPatch(t *testing.T) {
	e := newEnv(t, nil)
	s := e.createS()
	got, err := e.s.Patch(e.ctx, "ns", "s", jsonPatch(`[{"op":"test","path":"/metadata/labels/a","value":"1"},`+
		`{"op":"replace","path":"/spec/containers/1/image","value":"b:2"},{"op":"add","path":"/metadata/labels/c","value":"3"},`+
		`{"op":"remove","path":"/metadata/labels/a"},{"op":"test","path":"/metadata/resourceVersion","value":"`+api.FormatRV(s.RV)+`"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if got.RV != s.RV+1 || got.UID != s.UID {
		t.Fatalf("patched %s", got.Raw)
	}
	wantParts(t, got, `{"b":"2","c":"3"}`, `{"containers":[{"image":"a:1","name":"a"},{"image":"b:2","name":"b"}]}`)

	_, err = e.s.Patch(e.ctx, "ns", "s", jsonPatch(`[{"op":"test","path":"/metadata/labels/a","value":"1"}]`))
	if ae := wantErr(t, err, api.ErrInvalid); ae.Message != "the server rejected our request due to an error in our request" || ae.Field != "" {
		t.Fatalf("failed test: %+v", ae)
	}
	_, err = e.s.Patch(e.ctx, "ns", "s", jsonPatch(`[{"op":"remove","path":"/spec/missing"}]`))
	wantErr(t, err, api.ErrInvalid)
	_, err = e.s.Patch(e.ctx, "ns", "s", jsonPatch(`{"op":"add"}`))
	if ae := wantErr(t, err, api.ErrBadRequest); ae.Message != "json: cannot unmarshal object into Go value of type jsonpatch.Patch" {
		t.Fatalf("not a list: %q", ae.Message)
	}
	ops := strings.Repeat(`{"op":"test","path":"/kind","value":"Pod"},`, 10001)
	_, err = e.s.Patch(e.ctx, "ns", "s", jsonPatch("["+strings.TrimSuffix(ops, ",")+"]"))
	if ae := wantErr(t, err, api.ErrTooLarge); ae.Message != "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001" {
		t.Fatalf("too many operations: %q", ae.Message)
	}
	_, err = e.s.Patch(e.ctx, "ns", "s", jsonPatch(`[{"op":"replace","path":"/metadata/name","value":"t"}]`))
	wantErr(t, err, api.ErrBadRequest)
	_, err = e.s.Patch(e.ctx, "ns", "s", jsonPatch(`[{"op":"replace","path":"/metadata/resourceVersion","value":"`+api.FormatRV(s.RV)+`"}]`))
	wantErr(t, err, api.ErrConflict)
	read, err := e.s.Get(e.ctx, "ns", "s", api.GetOptions{})
	if err != nil || read.RV != got.RV {
		t.Fatalf("after refused patches: %v %v, want RV %d", read, err, got.RV)
	}
}

// B75, B53: a JSON patch whose test fails on a stale hint but holds in
// etcd is applied to the object read from etcd.
func TestPatch_B75_JSONPatchStaleHintNeverDecides(t *testing.T) {
	e := newEnv(t, nil)
	stale := e.createS()
	cur, err := e.s.Patch(e.ctx, "ns", "s", api.NewMergePatch([]byte(`{"metadata":{"labels":{"a":"9"}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.s.PatchWithHint(e.ctx, "ns", "s", jsonPatch(`[{"op":"test","path":"/metadata/labels/a","value":"9"},`+
		`{"op":"add","path":"/metadata/labels/d","value":"4"}]`), stale)
	if err != nil || got.RV != cur.RV+1 {
		t.Fatalf("patch with stale hint: %v %v", got, err)
	}
	wantParts(t, got, `{"a":"9","b":"2","d":"4"}`, `{"containers":[{"image":"a:1","name":"a"},{"image":"b:1","name":"b"}]}`)
}

// B76: a strategic merge patch merges lists by their merge key (a
// container by name), honours $patch directives and null deletions.
func TestPatch_B76_StrategicMergePatch(t *testing.T) {
	e := newEnv(t, nil)
	s := e.createS()
	got, err := e.s.Patch(e.ctx, "ns", "s", strategicPatch(
		`{"metadata":{"labels":{"a":null,"c":"3"}},"spec":{"containers":[{"name":"b","image":"b:2"},{"name":"c","image":"c:1"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.RV != s.RV+1 || got.UID != s.UID {
		t.Fatalf("patched %s", got.Raw)
	}
	wantParts(t, got, `{"b":"2","c":"3"}`,
		`{"containers":[{"image":"a:1","name":"a"},{"image":"b:2","name":"b"},{"image":"c:1","name":"c"}]}`)
	got, err = e.s.Patch(e.ctx, "ns", "s", strategicPatch(`{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	wantParts(t, got, `{"b":"2","c":"3"}`, `{"containers":[{"image":"b:2","name":"b"},{"image":"c:1","name":"c"}]}`)
	// The same patch again changes nothing and writes nothing.
	same, err := e.s.Patch(e.ctx, "ns", "s", strategicPatch(`{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}`))
	if err != nil || same.RV != got.RV {
		t.Fatalf("no-op patch: %v %v", same, err)
	}
	_, err = e.s.Patch(e.ctx, "ns", "s", strategicPatch(`{"spec":`))
	if ae := wantErr(t, err, api.ErrBadRequest); ae.Message != "unexpected EOF" {
		t.Fatalf("bad JSON: %q", ae.Message)
	}
	_, err = e.s.Patch(e.ctx, "ns", "s", strategicPatch(`{"spec":{"containers":[{"name":"b","$patch":"bogus"}]}}`))
	wantErr(t, err, api.ErrBadRequest)
	_, err = e.s.Patch(e.ctx, "ns", "s", strategicPatch(`{"metadata":{"resourceVersion":"`+api.FormatRV(s.RV)+`"}}`))
	wantErr(t, err, api.ErrConflict)
	_, err = e.s.Patch(e.ctx, "ns", "missing", strategicPatch(`{}`))
	wantErr(t, err, api.ErrNotFound)
}

// B76: a strategic merge patch of a kind with no Go type (a custom
// resource) is kube-apiserver's 415, as is any type no storage applies.
func TestPatch_B76_UnsupportedTypes(t *testing.T) {
	widgets := &api.Resource{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespaced: true}
	e := newEnv(t, widgets)
	if _, err := e.s.Create(e.ctx, "ns", []byte(`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"n":1}}`)); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.Patch(e.ctx, "ns", "w", strategicPatch(`{"spec":{"n":2}}`))
	const crMsg = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
	if ae := wantErr(t, err, api.ErrUnsupportedMediaType); ae.Message != crMsg {
		t.Fatalf("custom resource: %q", ae.Message)
	}
	got, err := e.s.Patch(e.ctx, "ns", "w", jsonPatch(`[{"op":"replace","path":"/spec/n","value":2}]`))
	if err != nil || !strings.Contains(string(got.Raw), `"spec":{"n":2}`) {
		t.Fatalf("JSON patch of a custom resource: %v %v", got, err)
	}
	pods := newEnv(t, nil)
	pods.createS()
	_, err = pods.s.Patch(pods.ctx, "ns", "s", api.Patch{Type: "application/apply-patch+cbor", Data: []byte(`{}`)})
	const builtinMsg = "the body of the request was in an unknown format - accepted media types include: " +
		"application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"
	if ae := wantErr(t, err, api.ErrUnsupportedMediaType); ae.Message != builtinMsg {
		t.Fatalf("apply patch: %q", ae.Message)
	}
}

// B75, B76: a JSON or strategic merge patch that loses the race is
// applied again to the winner's object (its uid and node, with the
// patch's label) and committed in the second transaction.
func TestPatch_B75_B76_LostRaceIsRetried(t *testing.T) {
	e, r := newRaceEnv(t)
	const key = "/registry/pods/ns/p"
	e.create("ns", "p", "n0", nil)
	var raced uint64
	for _, c := range []struct {
		uid   string
		patch api.Patch
		label string
	}{
		{"u-json", jsonPatch(`[{"op":"add","path":"/metadata/labels","value":{"j":"1"}}]`), "j"},
		{"u-smp", strategicPatch(`{"metadata":{"labels":{"s":"1"}}}`), "s"},
	} {
		r.lose(1, func() { raced = e.put(key, rawPod("p", c.uid, "raced")) })
		got, err := e.s.Patch(e.ctx, "ns", "p", c.patch)
		if err != nil || got.UID != c.uid || got.Labels[c.label] != "1" || got.Fields["spec.nodeName"] != "raced" ||
			got.RV != raced+1 || r.sent() != 2 {
			t.Fatalf("%s: %v %v (raced at %d, %d transactions)", c.uid, got, err, raced, r.sent())
		}
	}
}
