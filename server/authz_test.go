package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

const tokenAlice = "alice-t0ken-s3cret"

// aliceInA allows alice to get, list and watch pods in namespace a only,
// and everyone every non-resource path but /metrics; it records what it
// was asked last.
type aliceInA struct{ last *Attributes }

func (p aliceInA) Authorize(_ context.Context, a Attributes) (Decision, string, error) {
	*p.last = a
	if !a.ResourceRequest {
		return allowIf(a.Path != "/metrics"), "", nil
	}
	return allowIf(a.User.Name == "alice" && a.Namespace == "a" && a.Resource == "pods" && a.APIGroup == "" &&
		(a.Verb == "get" || a.Verb == "list" || a.Verb == "watch")), "", nil
}

func allowIf(ok bool) Decision {
	if ok {
		return DecisionAllow
	}
	return DecisionNoOpinion
}

func withAliceInA(last *Attributes) func(*Config) {
	return func(c *Config) {
		c.Authentication = &Authentication{Tokens: map[string]User{tokenAlice: {Name: "alice", Groups: []string{"dev"}}}}
		c.Authorizer = aliceInA{last: last}
	}
}

// TestB111_Forbidden403HTTP: the exact 403 Status bodies of
// kube-apiserver for a namespaced list, a cluster-wide list, one object,
// a group's resource and a non-resource path; allowed requests pass.
func TestB111_Forbidden403HTTP(t *testing.T) {
	t.Parallel()
	var last Attributes
	f := newFixture(t, withAliceInA(&last))
	add(t, f.pods, "a", "p1", nil)
	auth := []string{"Authorization", "Bearer " + tokenAlice}
	f.do(t, "GET", "/api/v1/namespaces/a/pods/p1", "", auth...).expectCode(t, http.StatusOK)
	f.do(t, "GET", "/api/v1/namespaces/a/pods", "", auth...).expectCode(t, http.StatusOK)
	f.do(t, "GET", "/healthz", "", auth...).expectCode(t, http.StatusOK)
	for _, c := range []struct{ method, path, msg, details string }{
		{"GET", "/api/v1/namespaces/b/pods",
			`pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "b"`, `{"kind":"pods"}`},
		{"GET", "/api/v1/pods",
			`pods is forbidden: User "alice" cannot list resource "pods" in API group "" at the cluster scope`, `{"kind":"pods"}`},
		{"GET", "/api/v1/pods?watch=true",
			`pods is forbidden: User "alice" cannot watch resource "pods" in API group "" at the cluster scope`, `{"kind":"pods"}`},
		{"GET", "/api/v1/namespaces/b/pods/p1",
			`pods "p1" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "b"`, `{"name":"p1","kind":"pods"}`},
		{"DELETE", "/api/v1/namespaces/a/pods/p1",
			`pods "p1" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "a"`, `{"name":"p1","kind":"pods"}`},
		{"POST", "/apis/apps/v1/namespaces/a/deployments",
			`deployments.apps is forbidden: User "alice" cannot create resource "deployments" in API group "apps" in the namespace "a"`,
			`{"group":"apps","kind":"deployments"}`},
		{"GET", "/metrics", `forbidden: User "alice" cannot get path "/metrics"`, `{}`},
	} {
		f.do(t, c.method, c.path, "", auth...).expect(t, http.StatusForbidden, status(http.StatusForbidden, "Forbidden", c.msg, c.details))
	}
	f.do(t, "GET", "/api/v1/namespaces/a/pods", "", "Authorization", "Bearer "+tokenAlice+"x").expectCode(t, http.StatusUnauthorized)
	// Without credentials (no anonymous access) it is still 401 first.
	f.do(t, "GET", "/api/v1/namespaces/a/pods", "").expect(t, http.StatusUnauthorized,
		status(http.StatusUnauthorized, "Unauthorized", "Unauthorized", ""))
	if last.User.Name != "alice" || last.Path != "/metrics" || last.Verb != "get" {
		t.Errorf("last attributes %+v", last)
	}
}

// TestB110_HTTPAttributes: requests become kube-apiserver's request
// attributes (RequestInfoFactory).
func TestB110_HTTPAttributes(t *testing.T) {
	t.Parallel()
	res := func(verb, group, resource, sub, ns, name string) Attributes {
		return Attributes{Verb: verb, ResourceRequest: true, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
	}
	for _, c := range []struct {
		method, target string
		want           Attributes
	}{
		{"GET", "/api/v1/namespaces/a/pods", res("list", "", "pods", "", "a", "")},
		{"GET", "/api/v1/namespaces/a/pods?watch=1", res("watch", "", "pods", "", "a", "")},
		{"GET", "/api/v1/namespaces/a/pods?watch=false", res("list", "", "pods", "", "a", "")},
		{"GET", "/api/v1/pods?fieldSelector=metadata.name%3Dp1&watch=true", res("watch", "", "pods", "", "", "p1")},
		{"GET", "/api/v1/namespaces/a/pods/p1", res("get", "", "pods", "", "a", "p1")},
		{"GET", "/api/v1/namespaces/a/pods/p1?watch=true", res("get", "", "pods", "", "a", "p1")},
		{"GET", "/api/v1/namespaces/a/pods/p1/log", res("get", "", "pods", "log", "a", "p1")},
		{"PUT", "/api/v1/namespaces/a/pods/p1", res("update", "", "pods", "", "a", "p1")},
		{"PATCH", "/api/v1/namespaces/a/pods/p1", res("patch", "", "pods", "", "a", "p1")},
		{"POST", "/api/v1/namespaces/a/pods", res("create", "", "pods", "", "a", "")},
		{"DELETE", "/api/v1/namespaces/a/pods", res("deletecollection", "", "pods", "", "a", "")},
		{"GET", "/api/v1/namespaces/a", res("get", "", "namespaces", "", "a", "a")},
		{"PUT", "/api/v1/namespaces/a/status", res("update", "", "namespaces", "status", "a", "a")},
		{"GET", "/api/v1/watch/namespaces/a/pods", res("watch", "", "pods", "", "a", "")},
		{"GET", "/apis/apps/v1/deployments", res("list", "apps", "deployments", "", "", "")},
		{"GET", "/api/v1/nodes/n1", res("get", "", "nodes", "", "", "n1")},
		{"GET", "/apis/apps/v1", Attributes{Verb: "get", Path: "/apis/apps/v1"}},
		{"GET", "/api/v1", Attributes{Verb: "get", Path: "/api/v1"}},
		{"GET", "/metrics", Attributes{Verb: "get", Path: "/metrics"}},
		{"POST", "/readyz", Attributes{Verb: "post", Path: "/readyz"}},
	} {
		got := httpAttributes(httptest.NewRequest(c.method, c.target, nil), User{})
		got.APIVersion = ""
		if got.ResourceRequest && got.Path == c.target[:len(got.Path)] {
			got.Path = "" // kept, as kube-apiserver does; not compared
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %s: %+v, want %+v", c.method, c.target, got, c.want)
		}
	}
}

// TestB111_ForbiddenGRPC: a refused call is PERMISSION_DENIED with the
// same message, reason Forbidden and the resource in its ErrorInfo; the
// watch stream is refused on its request; health is a non-resource get.
func TestB111_ForbiddenGRPC(t *testing.T) {
	t.Parallel()
	var last Attributes
	g := newGRPCFixture(t, withAliceInA(&last), func(c *Config) { c.Authentication.Anonymous = true })
	ctx := bg(t)
	stub := g.client.Stub()
	_, err := stub.List(ctx, &pb.ListRequest{Resource: podsPB, Namespace: "b"})
	st := grpcstatus.Convert(err)
	const msg = `pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "b"`
	info, _ := grpcDetails(st)
	if st.Code() != codes.PermissionDenied || st.Message() != msg || info == nil || info.Reason != "Forbidden" ||
		info.Metadata["code"] != "403" || info.Metadata["resource"] != "pods" {
		t.Errorf("list: %v %v", st, info)
	}
	if _, err := g.client.List(ctx, &pb.ListRequest{Resource: podsPB, Namespace: "b"}); !errors.Is(err, api.ErrForbidden) || err.Error() != msg {
		t.Errorf("client: %v, want api.ErrForbidden", err)
	}
	w, err := stub.Watch(ctx, &pb.WatchRequest{Resource: podsPB})
	if err == nil {
		_, err = w.Recv()
	}
	const wmsg = `pods is forbidden: User "system:anonymous" cannot watch resource "pods" in API group "" at the cluster scope`
	if st := grpcstatus.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != wmsg {
		t.Errorf("watch: %v", st)
	}
	_, err = stub.Get(ctx, &pb.GetRequest{Resource: podsPB, Namespace: "a", Name: "p9"})
	const gmsg = `pods "p9" is forbidden: User "system:anonymous" cannot get resource "pods" in API group "" in the namespace "a"`
	if st := grpcstatus.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != gmsg {
		t.Errorf("get: %v", st)
	}
}
