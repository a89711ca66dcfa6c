package server

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// byNamespace answers per namespace: a Allow, b Deny with a reason, c
// NoOpinion with a reason, d an evaluation error, anything else
// NoOpinion.
type byNamespace struct{}

func (byNamespace) Authorize(_ context.Context, a Attributes) (Decision, string, error) {
	switch a.Namespace {
	case "a":
		return DecisionAllow, "", nil
	case "b":
		return DecisionDeny, "b is closed", nil
	case "c":
		return DecisionNoOpinion, "kubernetes.io/webhook: no rule", nil
	case "d":
		return DecisionNoOpinion, "", errors.New("webhook <down> & out")
	}
	return DecisionNoOpinion, "", nil
}

// webhookTokens is a TokenAuthenticator: "hook-t" is carol with extra,
// "down-t" cannot be checked, anything else is no user.
type webhookTokens struct{}

func (webhookTokens) AuthenticateToken(_ context.Context, token string) (User, bool, error) {
	switch token {
	case "hook-t":
		return User{Name: "carol", UID: "c-1", Groups: []string{"dev"}, Extra: map[string][]string{"k": {"v"}}}, true, nil
	case "down-t":
		return User{}, false, errors.New("review server down")
	}
	return User{}, false, nil
}

func withDecisions(c *Config) {
	c.Authentication = &Authentication{Tokens: map[string]User{tokenAlice: {Name: "alice"}}, Webhook: webhookTokens{}}
	c.Authorizer = byNamespace{}
}

// TestB156_AuthorizerDecisions: Allow serves; Deny and NoOpinion are the
// 403 of kube-apiserver with the authorizer's reason after the message;
// an evaluation error is kube-apiserver's plain-text 500 over HTTP and
// INTERNAL over gRPC. Tokens the static file lacks go to the webhook.
func TestB156_AuthorizerDecisions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withDecisions)
	for _, tok := range []string{tokenAlice, "hook-t"} {
		f.do(t, "GET", "/api/v1/namespaces/a/pods", "", "Authorization", "Bearer "+tok).expectCode(t, http.StatusOK)
	}
	for _, tok := range []string{"down-t", "other-t"} {
		f.do(t, "GET", "/api/v1/namespaces/a/pods", "", "Authorization", "Bearer "+tok).expect(t, http.StatusUnauthorized,
			status(http.StatusUnauthorized, "Unauthorized", "Unauthorized", ""))
	}
	auth := []string{"Authorization", "Bearer hook-t"}
	f.do(t, "GET", "/api/v1/namespaces/b/pods", "", auth...).expect(t, http.StatusForbidden, status(http.StatusForbidden, "Forbidden",
		`pods is forbidden: User "carol" cannot list resource "pods" in API group "" in the namespace "b": b is closed`, `{"kind":"pods"}`))
	f.do(t, "GET", "/api/v1/namespaces/c/pods/p1", "", auth...).expect(t, http.StatusForbidden, status(http.StatusForbidden, "Forbidden",
		`pods "p1" is forbidden: User "carol" cannot get resource "pods" in API group "" in the namespace "c": kubernetes.io/webhook: no rule`,
		`{"name":"p1","kind":"pods"}`))
	r := f.do(t, "GET", "/api/v1/namespaces/d/pods?limit=1", "", auth...)
	r.expect(t, http.StatusInternalServerError, `Internal Server Error: "/api/v1/namespaces/d/pods?limit=1": webhook &lt;down&gt; &amp; out`)
	if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("500 Content-Type %q", ct)
	}

	g := newGRPCFixture(t, withDecisions, func(c *Config) { c.Authentication.Anonymous = true })
	_, err := g.client.Stub().List(bg(t), &pb.ListRequest{Resource: podsPB, Namespace: "d"})
	const msg = `Internal Server Error: "/watchcached.v1.WatchCache/List": webhook <down> & out`
	if st := grpcstatus.Convert(err); st.Code() != codes.Internal || st.Message() != msg {
		t.Errorf("gRPC evaluation error: %v, want INTERNAL %s", st, msg)
	}
	_, err = g.client.Stub().List(bg(t), &pb.ListRequest{Resource: podsPB, Namespace: "b"})
	const denied = `pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "b": b is closed`
	if st := grpcstatus.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != denied {
		t.Errorf("gRPC deny: %v", st)
	}
}
