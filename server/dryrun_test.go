package server

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

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

const dryRunMsg = "dryRun is not supported by this server: the request was not carried out"

// TestDryRun_B55_EveryVerbAndSource: a dry run is refused with 400 and the
// same message for every verb, whether dryRun comes in the query (any
// value, any position) or in the DeleteOptions body (JSON or as kubectl
// sends it); etcd is not written at all (its revision stays), and the
// object is still there as it was.
func TestDryRun_B55_EveryVerbAndSource(t *testing.T) {
	t.Parallel()
	f := newEtcdFixture(t)
	const coll = "/api/v1/namespaces/ns1/configmaps"
	const path = coll + "/keep"
	f.do(t, http.MethodPost, coll, `{"metadata":{"name":"keep"},"data":{"k":"v"}}`).expectCode(t, 201)
	before, rev := f.raw(t, "/registry/configmaps/ns1/keep")
	want := status(400, "BadRequest", dryRunMsg, "")
	const merge = "application/merge-patch+json"
	for _, c := range []struct{ name, method, path, body, ctype string }{
		{"CreateQuery", http.MethodPost, coll + "?dryRun=All", `{"metadata":{"name":"new"}}`, ""},
		{"CreateQueryEmpty", http.MethodPost, coll + "?dryRun=", `{"metadata":{"name":"new"}}`, ""},
		{"CreateQuerySecond", http.MethodPost, coll + "?dryRun=&dryRun=All", `{"metadata":{"name":"new"}}`, ""},
		{"UpdateQuery", http.MethodPut, path + "?fieldManager=x&dryRun=All", `{"metadata":{"name":"keep"},"data":{"k":"changed"}}`, ""},
		{"PatchQuery", http.MethodPatch, path + "?dryRun=All", `{"data":{"k":"changed"}}`, merge},
		{"DeleteQuery", http.MethodDelete, path + "?dryRun=All", "", ""},
		{"DeleteBodyKubectl", http.MethodDelete, path, `{"kind":"DeleteOptions","apiVersion":"v1","dryRun":["All"]}`, ""},
		{"DeleteBodyBare", http.MethodDelete, path, `{"dryRun":["All"]}`, ""},
		{"DeleteBodyUnknownValue", http.MethodDelete, path, `{"dryRun":[""]}`, ""},
		{"DeleteBodyWithPreconditions", http.MethodDelete, path, `{"dryRun":["All"],"preconditions":{"resourceVersion":"1"}}`, ""},
		{"DeleteBodyWithIgnoreReadError", http.MethodDelete, path, `{"dryRun":["All"],"ignoreStoreReadErrorWithClusterBreakingPotential":true}`, ""},
		{"DeleteBodyAndQuery", http.MethodDelete, path + "?dryRun=All", `{}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.ctype != "" {
				hdr = []string{"Content-Type", c.ctype}
			}
			f.do(t, c.method, c.path, c.body, hdr...).expect(t, 400, want)
		})
	}
	// A dryRun that is not a list is not a DeleteOptions: 400, not a delete.
	f.do(t, http.MethodDelete, path, `{"dryRun":"All"}`).expect(t, 400, status(400, "BadRequest",
		"invalid DeleteOptions: json: cannot unmarshal string into Go struct field deleteOptions.dryRun of type []string", ""))
	f.do(t, http.MethodDelete, path, `{"kind":"ConfigMap","apiVersion":"v1"}`).expect(t, 400, status(400, "BadRequest",
		"invalid DeleteOptions: the body is a ConfigMap", ""))
	f.do(t, http.MethodDelete, path, `not json`).expect(t, 400, status(400, "BadRequest",
		"invalid DeleteOptions: invalid character 'o' in literal null (expecting 'u')", ""))

	after, revAfter := f.raw(t, "/registry/configmaps/ns1/keep")
	if after != before || revAfter != rev {
		t.Fatalf("etcd changed by refused requests: revision %d -> %d, value %q -> %q", rev, revAfter, before, after)
	}
	got := f.do(t, http.MethodGet, path, "")
	if got.code != 200 || !strings.Contains(got.body, `"data":{"k":"v"}`) {
		t.Fatalf("GET after the dry runs: %d %s", got.code, got.body)
	}
	f.do(t, http.MethodGet, coll+"/new", "").expectCode(t, 404)
	// An empty dryRun list is no dry run: the delete is carried out.
	f.do(t, http.MethodDelete, path, `{"kind":"DeleteOptions","apiVersion":"v1","dryRun":[]}`).expectCode(t, 200)
	f.do(t, http.MethodGet, path, "").expectCode(t, 404)
}

// TestDryRun_B55_GRPCCannotAskForOne: no gRPC request can carry a dry run
// (the write requests have no options beyond preconditions), so no gRPC
// write can be one. A field added to carry one must be refused by the
// server first; this test names the fields to look at.
func TestDryRun_B55_GRPCCannotAskForOne(t *testing.T) {
	t.Parallel()
	for _, m := range []protoreflect.ProtoMessage{&pb.CreateRequest{}, &pb.UpdateRequest{}, &pb.PatchRequest{}, &pb.DeleteRequest{}} {
		fields := m.ProtoReflect().Descriptor().Fields()
		for i := range fields.Len() {
			if name := string(fields.Get(i).Name()); strings.Contains(strings.ToLower(name), "dry") {
				t.Errorf("%s has field %s: refuse it (errDryRun) in grpc_write.go, then update this test",
					m.ProtoReflect().Descriptor().Name(), name)
			}
		}
	}
}
