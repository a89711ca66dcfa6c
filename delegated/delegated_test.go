package delegated

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/watchcached/watchcached/internal/testkit"
	"github.com/watchcached/watchcached/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture is a review server and the options of reviewers pointed at it:
// a fake clock and, unless a test changes it, a single try per review.
type fixture struct {
	reviews *testkit.ReviewServer
	clock   *clocktesting.FakeClock
	opts    Options
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{reviews: testkit.NewReviewServer(t), clock: clocktesting.NewFakeClock(time.Now())}
	f.opts = Options{Clock: f.clock, Backoff: &wait.Backoff{Steps: 1}, Timeout: 5 * time.Second}
	return f
}

func (f *fixture) authenticator(t *testing.T, ttl time.Duration) *Authenticator {
	rc, err := clientcmd.BuildConfigFromFlags("", f.reviews.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthenticator(rc, ttl, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) authorizer(t *testing.T, allowedTTL, deniedTTL time.Duration) *Authorizer {
	rc, err := clientcmd.BuildConfigFromFlags("", f.reviews.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthorizer(rc, allowedTTL, deniedTTL, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// expectHits fails unless the review server answered exactly tokens
// TokenReviews and sars SubjectAccessReviews so far.
func (f *fixture) expectHits(t *testing.T, what string, tokens, sars int) {
	t.Helper()
	if gt, gs := f.reviews.Hits(); gt != tokens || gs != sars {
		t.Errorf("%s: %d TokenReviews and %d SubjectAccessReviews, want %d and %d", what, gt, gs, tokens, sars)
	}
}

const (
	goodToken = "g00d-webhook-t0ken"
	badToken  = "bad-webhook-t0ken"
)

// TestB150_TokenReview: a token the TokenReview authenticates is its
// user with uid, groups and extra; one it does not is no user and no
// error; both answers are cached for the TTL (by a fake clock) and asked
// again after it.
func TestB150_TokenReview(t *testing.T) {
	f := newFixture(t)
	f.reviews.AddToken(goodToken, authnv1.UserInfo{Username: "system:serviceaccount:a:robot", UID: "u-1",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:a"},
		Extra:  map[string]authnv1.ExtraValue{"authentication.kubernetes.io/pod-name": {"web-0"}}})
	a := f.authenticator(t, 10*time.Second)
	ctx := t.Context()
	want := server.User{Name: "system:serviceaccount:a:robot", UID: "u-1",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:a"},
		Extra:  map[string][]string{"authentication.kubernetes.io/pod-name": {"web-0"}}}
	check := func(what string, tokens int) {
		t.Helper()
		u, ok, err := a.AuthenticateToken(ctx, goodToken)
		if err != nil || !ok || !reflect.DeepEqual(u, want) {
			t.Errorf("%s: good token: %+v %v %v, want %+v", what, u, ok, err, want)
		}
		u, ok, err = a.AuthenticateToken(ctx, badToken)
		if err != nil || ok || !reflect.DeepEqual(u, server.User{}) {
			t.Errorf("%s: bad token: %+v %v %v", what, u, ok, err)
		}
		f.expectHits(t, what, tokens, 0)
	}
	check("first", 2)
	check("within the TTL", 2)
	f.clock.Step(10 * time.Second)
	check("at the TTL", 2)
	f.clock.Step(time.Millisecond)
	check("after the TTL", 4)

	uncached := f.authenticator(t, 0)
	for range 2 {
		if _, ok, err := uncached.AuthenticateToken(ctx, goodToken); !ok || err != nil {
			t.Errorf("TTL 0: %v %v", ok, err)
		}
	}
	f.expectHits(t, "TTL 0", 6, 0)
}

// TestB150_TokenReviewErrors: a failed review is an error that does not
// name the token, is not cached, and is tried again (kube-apiserver's
// retries of transient errors); a refusing server is not retried.
func TestB150_TokenReviewErrors(t *testing.T) {
	f := newFixture(t)
	f.reviews.AddToken(goodToken, authnv1.UserInfo{Username: "bob"})
	f.opts.Backoff = &wait.Backoff{Steps: 3, Duration: time.Millisecond}
	a := f.authenticator(t, 10*time.Second)
	ctx := t.Context()

	f.reviews.Fail(http.StatusInternalServerError)
	_, ok, err := a.AuthenticateToken(ctx, goodToken)
	const want = "TokenReview: the review server fails on purpose"
	if ok || err == nil || err.Error() != want {
		t.Errorf("500: %v %v, want %q", ok, err, want)
	}
	f.expectHits(t, "500, three tries", 3, 0)

	f.reviews.Fail(http.StatusForbidden)
	_, ok, err = a.AuthenticateToken(ctx, goodToken)
	if ok || err == nil || strings.Contains(err.Error(), goodToken) {
		t.Errorf("403: %v %v", ok, err)
	}
	f.expectHits(t, "403, one try", 4, 0)

	f.reviews.Fail(0)
	if u, ok, err := a.AuthenticateToken(ctx, goodToken); !ok || err != nil || u.Name != "bob" {
		t.Errorf("after the failures (not cached): %+v %v %v", u, ok, err)
	}
	f.expectHits(t, "after the failures", 5, 0)
}

// TestB151_SubjectAccessReview: the review's spec carries the user and
// the resource or non-resource attributes; allowed is Allow, denied Deny,
// neither NoOpinion, each with the reason; both is Deny with
// kube-apiserver's error.
func TestB151_SubjectAccessReview(t *testing.T) {
	f := newFixture(t)
	f.reviews.SetAuthorize(func(s authzv1.SubjectAccessReviewSpec) authzv1.SubjectAccessReviewStatus {
		switch {
		case s.NonResourceAttributes != nil:
			return authzv1.SubjectAccessReviewStatus{Allowed: true}
		case s.ResourceAttributes.Namespace == "a":
			return authzv1.SubjectAccessReviewStatus{Allowed: true, Reason: "bound in a"}
		case s.ResourceAttributes.Namespace == "b":
			return authzv1.SubjectAccessReviewStatus{Denied: true, Reason: "b is closed"}
		case s.ResourceAttributes.Namespace == "both":
			return authzv1.SubjectAccessReviewStatus{Allowed: true, Denied: true}
		}
		return authzv1.SubjectAccessReviewStatus{Reason: "no rule"}
	})
	w := f.authorizer(t, 0, 0)
	alice := server.User{Name: "alice", UID: "7", Groups: []string{"dev", "system:authenticated"},
		Extra: map[string][]string{"scopes": {"x", "y"}}}
	in := func(ns string) server.Attributes {
		return server.Attributes{User: alice, Verb: "get", ResourceRequest: true, APIGroup: "apps", APIVersion: "v1",
			Resource: "deployments", Subresource: "status", Namespace: ns, Name: "web"}
	}
	for _, c := range []struct {
		a        server.Attributes
		decision server.Decision
		reason   string
		err      string
	}{
		{in("a"), server.DecisionAllow, "bound in a", ""},
		{in("b"), server.DecisionDeny, "b is closed", ""},
		{in("c"), server.DecisionNoOpinion, "no rule", ""},
		{in("both"), server.DecisionDeny, "", "webhook subject access review returned both allow and deny response"},
		{server.Attributes{User: alice, Verb: "get", Path: "/metrics"}, server.DecisionAllow, "", ""},
	} {
		d, reason, err := w.Authorize(t.Context(), c.a)
		if d != c.decision || reason != c.reason || errText(err) != c.err {
			t.Errorf("%+v: %v %q %v, want %v %q %q", c.a, d, reason, err, c.decision, c.reason, c.err)
		}
	}
	specs := f.reviews.Specs()
	wantUser := authzv1.SubjectAccessReviewSpec{User: "alice", UID: "7", Groups: []string{"dev", "system:authenticated"},
		Extra: map[string]authzv1.ExtraValue{"scopes": {"x", "y"}}}
	wantRes, wantPath := wantUser, wantUser
	wantRes.ResourceAttributes = &authzv1.ResourceAttributes{Namespace: "a", Verb: "get", Group: "apps", Version: "v1",
		Resource: "deployments", Subresource: "status", Name: "web"}
	wantPath.NonResourceAttributes = &authzv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}
	if len(specs) != 5 || !reflect.DeepEqual(specs[0], wantRes) || !reflect.DeepEqual(specs[4], wantPath) {
		t.Errorf("specs %+v\nwant %+v first and %+v last", specs, wantRes, wantPath)
	}
}

// TestB151_SubjectAccessReviewCache: allowed answers are kept for the
// authorized TTL, the others for the unauthorized TTL, failures not at
// all (a failure is NoOpinion with the error).
func TestB151_SubjectAccessReviewCache(t *testing.T) {
	f := newFixture(t)
	f.reviews.SetAuthorize(func(s authzv1.SubjectAccessReviewSpec) authzv1.SubjectAccessReviewStatus {
		return authzv1.SubjectAccessReviewStatus{Allowed: s.ResourceAttributes.Namespace == "a"}
	})
	w := f.authorizer(t, 10*time.Second, 2*time.Second)
	bob := server.User{Name: "bob", Groups: []string{"system:authenticated"}}
	ask := func(ns string, want server.Decision) {
		t.Helper()
		a := server.Attributes{User: bob, Verb: "list", ResourceRequest: true, APIVersion: "v1", Resource: "pods", Namespace: ns}
		if d, _, err := w.Authorize(t.Context(), a); d != want || err != nil {
			t.Errorf("%s: %v %v, want %v", ns, d, err, want)
		}
	}
	ask("a", server.DecisionAllow)
	ask("b", server.DecisionNoOpinion)
	f.expectHits(t, "first", 0, 2)
	ask("a", server.DecisionAllow)
	ask("b", server.DecisionNoOpinion)
	f.expectHits(t, "again", 0, 2)
	f.clock.Step(2*time.Second + time.Millisecond)
	ask("a", server.DecisionAllow)
	ask("b", server.DecisionNoOpinion)
	f.expectHits(t, "after the unauthorized TTL", 0, 3)
	f.clock.Step(8 * time.Second)
	ask("a", server.DecisionAllow)
	f.expectHits(t, "after the authorized TTL", 0, 4)

	f.reviews.Fail(http.StatusServiceUnavailable)
	a := server.Attributes{User: bob, Verb: "list", ResourceRequest: true, APIVersion: "v1", Resource: "pods", Namespace: "c"}
	for range 2 {
		d, reason, err := w.Authorize(t.Context(), a)
		if d != server.DecisionNoOpinion || reason != "" || errText(err) != "the review server fails on purpose" {
			t.Errorf("failing review: %v %q %v", d, reason, err)
		}
	}
	f.expectHits(t, "failures are not cached", 0, 6)
}

// TestB151_ReviewHonoursContext: a review ends when the request's
// context is done, before the reviewer's own timeout.
func TestB151_ReviewHonoursContext(t *testing.T) {
	f := newFixture(t)
	w := f.authorizer(t, 0, 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a := server.Attributes{User: server.User{Name: "bob"}, Verb: "get", Path: "/version"}
	if d, _, err := w.Authorize(ctx, a); d != server.DecisionNoOpinion || err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("cancelled: %v %v", d, err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
