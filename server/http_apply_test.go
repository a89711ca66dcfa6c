package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

const (
	deployments = "/apis/apps/v1/namespaces/ns1/deployments"
	applyType   = "application/apply-patch+yaml"
	// webDeployment is a deployment as kubectl's client-side apply creates it.
	webDeployment = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":1,` +
		`"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},` +
		`"spec":{"containers":[{"name":"c","image":"nginx:1"}]}}}}`
	// webApply is what a server-side apply of the same deployment sends,
	// with three replicas.
	webApply = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n" +
		"  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n" +
		"    spec:\n      containers:\n      - name: c\n        image: nginx:1\n"
)

// managers returns the managedFields of body as "manager/operation"
// entries, sorted (the field manager orders entries by time, to the
// second).
func managers(t *testing.T, body string) []string {
	t.Helper()
	var o struct {
		Metadata struct {
			ManagedFields []struct {
				Manager, Operation string
			} `json:"managedFields"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var out []string
	for _, m := range o.Metadata.ManagedFields {
		out = append(out, m.Manager+"/"+m.Operation)
	}
	sort.Strings(out)
	return out
}

// TestApply_B210_ConflictForceAndNoOp: a deployment created by one
// manager (an Update), applied by another with a different replicas, is
// kube-apiserver's 409 naming the field and its manager, with no object
// in the details; with force=true the apply takes the field over; the
// same apply again changes nothing (same resourceVersion); an apply of an
// absent object creates it (201) with an Apply entry.
func TestApply_B210_ConflictForceAndNoOp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	created := f.do(t, http.MethodPost, deployments+"?fieldManager=kubectl-client-side-apply", webDeployment)
	if created.code != 201 || !reflect.DeepEqual(managers(t, created.body), []string{"kubectl-client-side-apply/Update"}) {
		t.Fatalf("create: %d %s", created.code, created.body)
	}
	hdr := []string{"Content-Type", applyType}
	f.do(t, http.MethodPatch, deployments+"/web?fieldManager=kubectl", webApply, hdr...).expect(t, 409, status(409, "Conflict",
		`Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas`,
		`{"causes":[{"reason":"FieldManagerConflict","message":"conflict with \"kubectl-client-side-apply\" using apps/v1","field":".spec.replicas"}]}`))

	forced := f.do(t, http.MethodPatch, deployments+"/web?fieldManager=kubectl&force=true", webApply, hdr...)
	if forced.code != 200 || !strings.Contains(forced.body, `"replicas":3`) ||
		!reflect.DeepEqual(managers(t, forced.body), []string{"kubectl-client-side-apply/Update", "kubectl/Apply"}) {
		t.Fatalf("forced apply: %d %s", forced.code, forced.body)
	}
	if rvOf(t, forced.body) == rvOf(t, created.body) {
		t.Fatalf("forced apply wrote nothing: %s", forced.body)
	}
	again := f.do(t, http.MethodPatch, deployments+"/web?fieldManager=kubectl", webApply, hdr...)
	if again.code != 200 || again.body != forced.body {
		t.Fatalf("repeated apply: %d %s, want the same as %s", again.code, again.body, forced.body)
	}
	// The other manager still owns the fields it set and nobody else
	// took over: changing the image it owns is a conflict for kubectl.
	f.do(t, http.MethodPatch, deployments+"/web?fieldManager=kubectl", strings.Replace(webApply, "nginx:1", "nginx:2", 1), hdr...).expect(t, 409,
		status(409, "Conflict",
			`Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.template.spec.containers[name="c"].image`,
			`{"causes":[{"reason":"FieldManagerConflict","message":"conflict with \"kubectl-client-side-apply\" using apps/v1","field":".spec.template.spec.containers[name=\"c\"].image"}]}`))

	fresh := f.do(t, http.MethodPatch, deployments+"/api?fieldManager=ctrl", strings.Replace(webApply, "name: web\nspec", "name: api\nspec", 1), hdr...)
	if fresh.code != 201 || !reflect.DeepEqual(managers(t, fresh.body), []string{"ctrl/Apply"}) ||
		!strings.Contains(fresh.body, `"generation":1`) || !strings.Contains(fresh.body, `"uid":"`) {
		t.Fatalf("apply of an absent object: %d %s", fresh.code, fresh.body)
	}
}

// TestApply_B210_RefusedApplies: an apply of a field the schema does not
// declare is kube-apiserver's bare 500 from the field manager; one of
// another version is 400; one that is not YAML 400; managedFields in the
// patch 400; force on a patch that is no apply 422.
func TestApply_B210_RefusedApplies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.do(t, http.MethodPost, deployments, webDeployment).expectCode(t, 201)
	hdr := []string{"Content-Type", applyType}
	path := deployments + "/web?fieldManager=m"
	f.do(t, http.MethodPatch, path, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  foo: 1\n", hdr...).expect(t, 500,
		`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",`+
			`"message":"failed to create typed patch object (/web; apps/v1, Kind=Deployment): .spec.foo: field not declared in schema","code":500}`)
	f.do(t, http.MethodPatch, path, "apiVersion: apps/v2\nkind: Deployment\nmetadata:\n  name: web\n", hdr...).expect(t, 400,
		status(400, "BadRequest", `invalid object type: apps/v2, Kind=Deployment`, ""))
	f.do(t, http.MethodPatch, path, "{", hdr...).expect(t, 400,
		status(400, "BadRequest", `error decoding patch: error converting YAML to JSON: yaml: line 1: did not find expected node content`, ""))
	f.do(t, http.MethodPatch, path, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  managedFields: []\n", hdr...).expect(t, 400,
		status(400, "BadRequest", `metadata.managedFields must be nil`, ""))
	f.do(t, http.MethodPatch, deployments+"/web?force=true", `{}`, "Content-Type", "application/merge-patch+json").expect(t, 422,
		status(422, "Invalid", `PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch`,
			`{"group":"meta.k8s.io","kind":"PatchOptions","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: may not be specified for non-apply patch","field":"force"}]}`))
}

// TestManagedFields_B210_EveryWrite: a create, an update and a merge
// patch each record an Update by the fieldManager, or by the user
// agent's prefix without one.
func TestManagedFields_B210_EveryWrite(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const pods = "/api/v1/namespaces/ns1/pods"
	got := f.do(t, http.MethodPost, pods, `{"metadata":{"name":"p","labels":{"a":"1"}}}`, "User-Agent", "kubectl/v1.37.0 (linux/amd64) kubernetes/abc")
	if !reflect.DeepEqual(managers(t, got.body), []string{"kubectl/Update"}) {
		t.Fatalf("create: %s", got.body)
	}
	got = f.do(t, http.MethodPut, pods+"/p?fieldManager=editor", `{"metadata":{"name":"p","labels":{"a":"1","b":"2"}}}`)
	if !reflect.DeepEqual(managers(t, got.body), []string{"editor/Update", "kubectl/Update"}) {
		t.Fatalf("update: %s", got.body)
	}
	got = f.do(t, http.MethodPatch, pods+"/p", `{"metadata":{"labels":{"c":"3"}}}`, "Content-Type", "application/merge-patch+json", "User-Agent", "my-controller/2")
	if !reflect.DeepEqual(managers(t, got.body), []string{"editor/Update", "kubectl/Update", "my-controller/Update"}) {
		t.Fatalf("patch: %s", got.body)
	}
	if !strings.Contains(got.body, `"manager":"my-controller","operation":"Update","time":"`) ||
		!strings.Contains(got.body, `"fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{"f:c":{}}}}`) {
		t.Fatalf("patch entry: %s", got.body)
	}
}

// TestApply_B210_CustomResource: a kind outside client-go's scheme is
// applied with a deduced schema: an apply creates the object, another
// manager's different value of the same field is a conflict naming it,
// and its fields of its own merge in.
func TestApply_B210_CustomResource(t *testing.T) {
	t.Parallel()
	widgets := &api.Resource{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespaced: true}
	e := etcdtest.Start(t)
	f := &fixture{etcd: e}
	f.srv, f.ts = serve(t, Config{Storages: []api.Storage{newStore(t, e, widgets)}, Logger: quietLog})
	const path = "/apis/example.com/v1/namespaces/ns1/widgets/w"
	hdr := []string{"Content-Type", applyType}
	const head = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n"
	created := f.do(t, http.MethodPatch, path+"?fieldManager=a", head+"  size: 1\n", hdr...)
	if created.code != 201 || !strings.Contains(created.body, `"spec":{"size":1}`) {
		t.Fatalf("apply (create): %d %s", created.code, created.body)
	}
	f.do(t, http.MethodPatch, path+"?fieldManager=b", head+"  size: 2\n", hdr...).expect(t, 409, status(409, "Conflict",
		`Apply failed with 1 conflict: conflict with "a": .spec.size`,
		`{"causes":[{"reason":"FieldManagerConflict","message":"conflict with \"a\"","field":".spec.size"}]}`))
	merged := f.do(t, http.MethodPatch, path+"?fieldManager=b", head+"  color: red\n", hdr...)
	if merged.code != 200 || !strings.Contains(merged.body, `"spec":{"color":"red","size":1}`) ||
		!reflect.DeepEqual(managers(t, merged.body), []string{"a/Apply", "b/Apply"}) {
		t.Fatalf("apply of another field: %d %s", merged.code, merged.body)
	}
}
