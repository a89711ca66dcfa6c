package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

var configMapsRes = &api.Resource{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}

// etcdFixture is a server over the bare etcdstore of configmaps (a
// CorruptDeleter) on an embedded etcd, whose raw client looks behind it.
type etcdFixture struct {
	*fixture
}

func newEtcdFixture(t *testing.T) *etcdFixture {
	t.Helper()
	e := etcdtest.Start(t)
	f := &fixture{etcd: e}
	f.srv, f.ts = serve(t, Config{Storages: []api.Storage{newStore(t, e, configMapsRes)}, Logger: quietLog})
	return &etcdFixture{fixture: f}
}

// raw returns the stored value of key and etcd's current revision.
func (f *etcdFixture) raw(t *testing.T, key string) (string, int64) {
	t.Helper()
	resp, err := f.etcd.Client.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return "", resp.Header.Revision
	}
	return string(resp.Kvs[0].Value), resp.Header.Revision
}

// revision is etcd's current revision.
func (f *etcdFixture) revision(t *testing.T) int64 {
	_, rev := f.raw(t, "/registry/configmaps/none")
	return rev
}

// serverSet are the members a dry run and the real write fill in apart:
// the generated uid and timestamps, and the resourceVersion.
var serverSet = map[string]bool{"uid": true, "creationTimestamp": true, "resourceVersion": true, "time": true, "deletionTimestamp": true}

// withoutServerSet decodes body and drops the serverSet members anywhere.
func withoutServerSet(t *testing.T, body string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var strip func(any)
	strip = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if serverSet[k] {
					delete(x, k)
				} else {
					strip(c)
				}
			}
		case []any:
			for _, c := range x {
				strip(c)
			}
		}
	}
	strip(v)
	return v
}

// rvOf is the metadata.resourceVersion of body ("" when absent).
func rvOf(t *testing.T, body string) string {
	t.Helper()
	var o struct {
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	rv, _ := o.Metadata["resourceVersion"].(string)
	return rv
}

// TestDryRun_B211_AnsweredAsTheRealWrite: for every verb, a dry run is
// answered with the code and the object the same write then carries out
// for real answers (but for the server-set uid, timestamps and
// resourceVersion: none for a create, the current one for a patch, an
// apply and a delete, the body's for an update), and etcd's revision does
// not move for the dry run.
func TestDryRun_B211_AnsweredAsTheRealWrite(t *testing.T) {
	t.Parallel()
	f := newEtcdFixture(t)
	const coll = "/api/v1/namespaces/ns1/configmaps"
	f.do(t, http.MethodPost, coll+"?fieldManager=setup", `{"metadata":{"name":"keep"},"data":{"k":"v"}}`).expectCode(t, 201)
	f.do(t, http.MethodPost, coll+"?fieldManager=setup", `{"metadata":{"name":"fin","finalizers":["x/y"]}}`).expectCode(t, 201)
	const merge, apply = "application/merge-patch+json", "application/apply-patch+yaml"
	for _, c := range []struct {
		name, method, path, body, ctype string
		code                            int
		rv                              string // the dry run's resourceVersion: "cur", "body" or "" (none)
	}{
		{"Create", http.MethodPost, coll, `{"metadata":{"name":"new"},"data":{"a":"b"}}`, "", 201, ""},
		{"CreateGenerateName", http.MethodPost, coll, `{"metadata":{"generateName":"gen-"}}`, "", 201, ""},
		{"Update", http.MethodPut, coll + "/keep", `{"metadata":{"name":"keep","resourceVersion":"RV"},"data":{"k":"u"}}`, "", 200, "body"},
		{"UpdateUnconditional", http.MethodPut, coll + "/keep", `{"metadata":{"name":"keep"},"data":{"k":"w"}}`, "", 200, ""},
		{"MergePatch", http.MethodPatch, coll + "/keep?fieldManager=patcher", `{"data":{"p":"q"}}`, merge, 200, "cur"},
		{"Apply", http.MethodPatch, coll + "/keep?fieldManager=applier", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keep"},"data":{"s":"t"}}`, apply, 200, "cur"},
		{"ApplyCreates", http.MethodPatch, coll + "/applied?fieldManager=applier", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: b\n", apply, 201, ""},
		{"DeleteMarks", http.MethodDelete, coll + "/fin", "", "", 200, "cur"},
		{"Delete", http.MethodDelete, coll + "/keep", "", "", 200, "cur"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.ctype != "" {
				hdr = []string{"Content-Type", c.ctype}
			}
			target, _, _ := strings.Cut(c.path, "?")
			cur := f.do(t, http.MethodGet, target, "")
			if cur.code != 200 {
				cur = f.do(t, http.MethodGet, coll+"/keep", "")
			}
			body := strings.ReplaceAll(c.body, "RV", rvOf(t, cur.body))
			sep := "?"
			if strings.Contains(c.path, "?") {
				sep = "&"
			}
			before := f.revision(t)
			dry := f.do(t, c.method, c.path+sep+"dryRun=All", body, hdr...)
			if after := f.revision(t); after != before {
				t.Fatalf("the dry run moved etcd from %d to %d: %d %s", before, after, dry.code, dry.body)
			}
			real := f.do(t, c.method, c.path, body, hdr...)
			if dry.code != c.code || real.code != c.code {
				t.Fatalf("codes: dry %d %s, real %d %s, want %d", dry.code, dry.body, real.code, real.body, c.code)
			}
			want := ""
			if c.rv != "" {
				want = rvOf(t, cur.body)
			}
			if got := rvOf(t, dry.body); got != want {
				t.Errorf("dry run resourceVersion %q, want %q: %s", got, want, dry.body)
			}
			if c.name == "CreateGenerateName" { // the names are random
				return
			}
			if d, r := withoutServerSet(t, dry.body), withoutServerSet(t, real.body); !reflect.DeepEqual(d, r) {
				t.Errorf("dry run answered\n%s\nthe write\n%s", dry.body, real.body)
			}
		})
	}
}

// TestDryRun_B211_RefusalsAndOptions: a dry run of a create of an existing
// name is the create's 409; a dryRun value other than All is kube-apiserver's
// 422 naming the options kind (create, update, patch, delete in the query
// or the body); an empty dryRun list is no dry run; a bad DeleteOptions
// body is 400; a dry run of the removal of a corrupt value removes
// nothing. Nothing reaches etcd but the last delete.
func TestDryRun_B211_RefusalsAndOptions(t *testing.T) {
	t.Parallel()
	f := newEtcdFixture(t)
	const coll = "/api/v1/namespaces/ns1/configmaps"
	const path = coll + "/keep"
	f.do(t, http.MethodPost, coll, `{"metadata":{"name":"keep"},"data":{"k":"v"}}`).expectCode(t, 201)
	before, rev := f.raw(t, "/registry/configmaps/ns1/keep")
	taken := f.do(t, http.MethodPost, coll, `{"metadata":{"name":"keep"}}`)
	f.do(t, http.MethodPost, coll+"?dryRun=All", `{"metadata":{"name":"keep"}}`).expect(t, 409, strings.TrimSuffix(taken.body, "\n"))
	f.do(t, http.MethodPut, coll+"/missing?dryRun=All", `{"metadata":{"name":"missing"}}`).expect(t, 404,
		status(404, "NotFound", `configmaps "missing" not found`, `{"name":"missing","kind":"configmaps"}`))
	invalid := func(kind, value string) string {
		msg := `Unsupported value: ` + value + `: supported values: "All"`
		cause, _ := json.Marshal(msg)
		return status(422, "Invalid", kind+`.meta.k8s.io "" is invalid: dryRun: `+msg,
			`{"group":"meta.k8s.io","kind":"`+kind+`","causes":[{"reason":"FieldValueNotSupported","message":`+string(cause)+`,"field":"dryRun"}]}`)
	}
	const merge = "application/merge-patch+json"
	for _, c := range []struct{ name, method, path, body, ctype, want string }{
		{"CreateFoo", http.MethodPost, coll + "?dryRun=foo", `{"metadata":{"name":"new"}}`, "", invalid("CreateOptions", `["foo"]`)},
		{"CreateEmpty", http.MethodPost, coll + "?dryRun=", `{"metadata":{"name":"new"}}`, "", invalid("CreateOptions", `[""]`)},
		{"CreateSecond", http.MethodPost, coll + "?dryRun=All&dryRun=x", `{"metadata":{"name":"new"}}`, "", invalid("CreateOptions", `["All","x"]`)},
		{"Update", http.MethodPut, path + "?dryRun=foo", `{"metadata":{"name":"keep"}}`, "", invalid("UpdateOptions", `["foo"]`)},
		{"Patch", http.MethodPatch, path + "?dryRun=foo", `{}`, merge, invalid("PatchOptions", `["foo"]`)},
		{"DeleteQuery", http.MethodDelete, path + "?dryRun=foo", "", "", invalid("DeleteOptions", `["foo"]`)},
		{"DeleteBody", http.MethodDelete, path, `{"dryRun":[""]}`, "", invalid("DeleteOptions", `[""]`)},
		{"DeleteNotAList", http.MethodDelete, path, `{"dryRun":"All"}`, "", status(400, "BadRequest",
			"invalid DeleteOptions: json: cannot unmarshal string into Go struct field deleteOptions.dryRun of type []string", "")},
		{"DeleteOtherKind", http.MethodDelete, path, `{"kind":"ConfigMap","apiVersion":"v1"}`, "", status(400, "BadRequest",
			"invalid DeleteOptions: the body is a ConfigMap", "")},
		{"DeletePreconditionFails", http.MethodDelete, path, `{"dryRun":["All"],"preconditions":{"resourceVersion":"1"}}`, "", status(409, "Conflict",
			"Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: "+itoa(int(rev)), `{"name":"keep","kind":"configmaps"}`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.ctype != "" {
				hdr = []string{"Content-Type", c.ctype}
			}
			f.do(t, c.method, c.path, c.body, hdr...).expect(t, codeOf(c.want), c.want)
		})
	}
	// Beyond kube-apiserver: a dryRun in the query of a DELETE with a body
	// is honoured as well.
	f.do(t, http.MethodDelete, path+"?dryRun=All", `{"kind":"DeleteOptions","apiVersion":"v1"}`).expectCode(t, 200)
	f.do(t, http.MethodDelete, path, `{"kind":"DeleteOptions","apiVersion":"v1","dryRun":["All"]}`).expectCode(t, 200)
	after, revAfter := f.raw(t, "/registry/configmaps/ns1/keep")
	if after != before || revAfter != rev {
		t.Fatalf("etcd changed by dry runs: revision %d -> %d, value %q -> %q", rev, revAfter, before, after)
	}
	// A dry run of the removal of a corrupt value (B62) answers the
	// removal's Success and leaves the value.
	const badKey = "/registry/configmaps/ns1/bad"
	if _, err := f.etcd.Client.Put(t.Context(), badKey, "{garbage"); err != nil {
		t.Fatal(err)
	}
	f.do(t, http.MethodDelete, coll+"/bad", `{"dryRun":["All"],"ignoreStoreReadErrorWithClusterBreakingPotential":true}`).expect(t, 200,
		`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"bad","kind":"ConfigMap"},"code":200}`)
	if v, _ := f.raw(t, badKey); v != "{garbage" {
		t.Fatalf("a dry run removed the corrupt value: %q", v)
	}
	// An empty dryRun list is no dry run: the delete is carried out.
	f.do(t, http.MethodDelete, path, `{"kind":"DeleteOptions","apiVersion":"v1","dryRun":[]}`).expectCode(t, 200)
	f.do(t, http.MethodGet, path, "").expectCode(t, 404)
}

// TestDryRun_B211_GRPC: over gRPC the dry run is the metadata
// watchcached-dry-run: All; create, update, patch and delete answer the
// object and etcd's revision stays; another value is INVALID_ARGUMENT
// with the HTTP frontend's message.
func TestDryRun_B211_GRPC(t *testing.T) {
	t.Parallel()
	f := newGRPCFixture(t)
	ctx := bg(t)
	o, err := f.client.Create(ctx, &pb.CreateRequest{Resource: podsPB, Namespace: "default", Json: []byte(`{"metadata":{"name":"a"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	rev := func() int64 {
		resp, err := f.etcd.Client.Get(ctx, "/registry/none")
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	before := rev()
	dry := metadata.AppendToOutgoingContext(ctx, GRPCDryRunKey, "All")
	created, err := f.client.Create(dry, &pb.CreateRequest{Resource: podsPB, Namespace: "default", Json: []byte(`{"metadata":{"name":"b"}}`)})
	if err != nil || created.ResourceVersion != 0 || !strings.Contains(string(created.Json), `"name":"b"`) || strings.Contains(string(created.Json), "resourceVersion") {
		t.Fatalf("dry-run create: %v %v", created, err)
	}
	updated, err := f.client.Update(dry, &pb.UpdateRequest{Resource: podsPB, Namespace: "default", Name: "a",
		Json: []byte(`{"metadata":{"name":"a","labels":{"x":"y"}}}`)})
	if err != nil || !strings.Contains(string(updated.Json), `"labels":{"x":"y"}`) {
		t.Fatalf("dry-run update: %v %v", updated, err)
	}
	patched, err := f.client.Patch(dry, &pb.PatchRequest{Resource: podsPB, Namespace: "default", Name: "a", MergePatch: []byte(`{"metadata":{"labels":{"p":"q"}}}`)})
	if err != nil || patched.ResourceVersion != o.ResourceVersion || !strings.Contains(string(patched.Json), `"labels":{"p":"q"}`) {
		t.Fatalf("dry-run patch: %v %v", patched, err)
	}
	deleted, err := f.client.Delete(dry, &pb.DeleteRequest{Resource: podsPB, Namespace: "default", Name: "a"})
	if err != nil || deleted.ResourceVersion != o.ResourceVersion {
		t.Fatalf("dry-run delete: %v %v", deleted, err)
	}
	if after := rev(); after != before {
		t.Fatalf("dry runs moved etcd from %d to %d", before, after)
	}
	bad := metadata.AppendToOutgoingContext(ctx, GRPCDryRunKey, "foo")
	_, err = f.client.Delete(bad, &pb.DeleteRequest{Resource: podsPB, Namespace: "default", Name: "a"})
	if e := api.AsError(err); !errors.Is(err, api.ErrInvalid) || e.Message != `DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["foo"]: supported values: "All"` {
		t.Fatalf("dryRun=foo: %v", err)
	}
	if _, err := f.client.Get(ctx, &pb.GetRequest{Resource: podsPB, Namespace: "default", Name: "a"}); err != nil {
		t.Fatalf("get after the dry runs: %v", err)
	}
}
