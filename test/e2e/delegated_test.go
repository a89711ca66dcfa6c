package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/client"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/delegated"
	"github.com/watchcached/watchcached/internal/testkit"
)

// The tokens of the delegated tests: the review server knows the
// webhook's; the static one is in the daemon's token file.
const (
	webhookToken = "webhook-alice-t0ken-s3cret"
	unknownToken = "unknown-t0ken-s3cret"
	staticToken  = "static-bob-t0ken-s3cret"
	delegatedTTL = 10 * time.Second
)

// Exact bodies of kube-apiserver's refusals.
const (
	body401 = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`
	body403 = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: ` +
		`User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"b\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}`
)

// delegatedEnv is a daemon over TLS (client CAs, a static token, and
// delegated authentication and authorization against a review server that
// knows webhookToken as alice and lets her do anything in namespace a),
// its log at debug level, and a fake clock for the review caches.
type delegatedEnv struct {
	*env
	reviews *testkit.ReviewServer
	clock   *clocktesting.FakeClock
	ca      *testkit.CA
	tr      *http.Transport // HTTPS to the daemon, trusting ca
	logs    *syncBuffer
}

func startDelegated(t *testing.T) *delegatedEnv {
	ca := testkit.NewCA(t, "e2e")
	srv := ca.Server(t, "server")
	reviews := testkit.NewReviewServer(t)
	reviews.AddToken(webhookToken, authnv1.UserInfo{Username: "alice", UID: "a-1", Groups: []string{"dev"},
		Extra: map[string]authnv1.ExtraValue{"scopes.example.com": {"read"}}})
	reviews.SetAuthorize(func(s authzv1.SubjectAccessReviewSpec) authzv1.SubjectAccessReviewStatus {
		ra := s.ResourceAttributes
		return authzv1.SubjectAccessReviewStatus{Allowed: s.User == "alice" && ra != nil && ra.Namespace == "a"}
	})
	tokens := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(tokens, []byte(staticToken+",bob,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock := clocktesting.NewFakeClock(time.Now())
	logs := &syncBuffer{}
	e := startEnv(t, func(c *app.Config) {
		c.GRPCListen = "127.0.0.1:0"
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Auth = app.AuthConfig{TLSCertFile: srv.CertFile, TLSPrivateKeyFile: srv.KeyFile, ClientCAFile: ca.File, TokenAuthFile: tokens,
			Delegated: app.DelegatedConfig{AuthenticationKubeconfig: reviews.Kubeconfig, AuthenticationCacheTTL: delegatedTTL,
				AuthorizationKubeconfig: reviews.Kubeconfig, AuthorizedTTL: delegatedTTL, UnauthorizedTTL: delegatedTTL,
				Options: delegated.Options{Clock: clock, Backoff: &wait.Backoff{Steps: 1}}}}
	})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &delegatedEnv{env: e, reviews: reviews, clock: clock, ca: ca, tr: tr, logs: logs}
}

// get sends GET path over HTTPS with token ("" for none) and returns the
// code and the body.
func (d *delegatedEnv) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "https://"+d.d.HTTPAddr+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Transport: d.tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(bytes.TrimSuffix(b, []byte("\n")))
}

// expect fails unless GET path with token answers code and body.
func (d *delegatedEnv) expect(t *testing.T, what, path, token string, code int, body string) {
	t.Helper()
	if c, b := d.get(t, path, token); c != code || (body != "" && b != body) {
		t.Errorf("%s: %d %s\nwant %d %s", what, c, b, code, body)
	}
}

// expectHits fails unless the review server answered tokens TokenReviews
// and sars SubjectAccessReviews so far.
func (d *delegatedEnv) expectHits(t *testing.T, what string, tokens, sars int) {
	t.Helper()
	if gt, gs := d.reviews.Hits(); gt != tokens || gs != sars {
		t.Errorf("%s: %d TokenReviews and %d SubjectAccessReviews, want %d and %d", what, gt, gs, tokens, sars)
	}
}

// TestDelegated_B153_ClientGo: client-go with a token the TokenReview
// accepts creates, watches and lists pods where the SubjectAccessReview
// allows; an unknown token gets the exact 401, namespace b the exact 403;
// answers are cached for the TTL (a fake clock) and asked again after it;
// a failing review is a 401 (authentication) or kube-apiserver's
// plain-text 500 (authorization).
func TestDelegated_B153_ClientGo(t *testing.T) {
	d := startDelegated(t)
	cfg := rest.Config{Host: "https://" + d.d.HTTPAddr, QPS: -1, BearerToken: webhookToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: pemOf(t, d.ca.File)}}
	pods := tlsClient(t, &cfg).CoreV1().Pods("a")
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	w, err := pods.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch in a: %v", err)
	}
	defer w.Stop()
	created, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create in a: %v", err)
	}
	expectPodAdded(ctx, t, w, created)
	if l, err := pods.List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 1 {
		t.Errorf("list in a: %v %v", l, err)
	}
	d.expectHits(t, "watch, create, list", 1, 3)
	want := authzv1.SubjectAccessReviewSpec{User: "alice", UID: "a-1", Groups: []string{"dev", "system:authenticated"},
		Extra:              map[string]authzv1.ExtraValue{"scopes.example.com": {"read"}},
		ResourceAttributes: &authzv1.ResourceAttributes{Namespace: "a", Verb: "watch", Version: "v1", Resource: "pods"}}
	if specs := d.reviews.Specs(); len(specs) != 3 || !reflect.DeepEqual(specs[0], want) {
		t.Errorf("SubjectAccessReviews %+v\nwant first %+v", specs, want)
	}

	d.expect(t, "list in a, cached", "/api/v1/namespaces/a/pods", webhookToken, http.StatusOK, "")
	d.expectHits(t, "cached list", 1, 3)
	d.expect(t, "list in b", "/api/v1/namespaces/b/pods", webhookToken, http.StatusForbidden, body403)
	d.expect(t, "list in b, cached", "/api/v1/namespaces/b/pods", webhookToken, http.StatusForbidden, body403)
	d.expectHits(t, "list in b twice", 1, 4)
	d.expect(t, "unknown token", "/api/v1/namespaces/a/pods", unknownToken, http.StatusUnauthorized, body401)
	d.expect(t, "unknown token, cached", "/api/v1/namespaces/a/pods", unknownToken, http.StatusUnauthorized, body401)
	d.expectHits(t, "unknown token twice", 2, 4)

	d.clock.Step(delegatedTTL + time.Millisecond)
	d.expect(t, "list in a after the TTL", "/api/v1/namespaces/a/pods", webhookToken, http.StatusOK, "")
	d.expect(t, "unknown token after the TTL", "/api/v1/namespaces/a/pods", unknownToken, http.StatusUnauthorized, body401)
	d.expectHits(t, "after the TTL", 4, 5)

	d.reviews.Fail(http.StatusInternalServerError)
	d.expect(t, "failing SubjectAccessReview", "/api/v1/namespaces/c/pods?limit=1", webhookToken, http.StatusInternalServerError,
		`Internal Server Error: "/api/v1/namespaces/c/pods?limit=1": the review server fails on purpose`)
	d.expect(t, "failing TokenReview", "/api/v1/namespaces/a/pods", "new-t0ken", http.StatusUnauthorized, body401)
	d.expectHits(t, "failures", 5, 6)
	d.reviews.Fail(0)
	d.expect(t, "after the failures (not cached)", "/api/v1/namespaces/c/pods?limit=1", webhookToken, http.StatusForbidden, "")
	d.expectHits(t, "after the failures", 5, 7)
}

// TestDelegated_B154_GRPC: a gRPC call with a bearer token the
// TokenReview accepts lists in namespace a, gets PERMISSION_DENIED in b;
// an unknown token is UNAUTHENTICATED.
func TestDelegated_B154_GRPC(t *testing.T) {
	d := startDelegated(t)
	dial := func(token string) *client.Client {
		gc, err := client.Dial(d.d.GRPCAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: d.ca.Pool()})),
			grpc.WithPerRPCCredentials(bearerToken(token)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = gc.Close() })
		return gc
	}
	list := func(ns string) *pb.ListRequest {
		return &pb.ListRequest{Resource: &pb.Resource{Version: "v1", Resource: "pods"}, Namespace: ns}
	}
	alice, unknown := dial(webhookToken), dial(unknownToken)
	if _, err := alice.List(t.Context(), list("a")); err != nil {
		t.Errorf("list in a: %v", err)
	}
	if _, err := alice.List(t.Context(), list("b")); !errors.Is(err, api.ErrForbidden) {
		t.Errorf("list in b: %v, want api.ErrForbidden", err)
	}
	if _, err := unknown.List(t.Context(), list("a")); !errors.Is(err, api.ErrUnauthorized) {
		t.Errorf("unknown token: %v, want api.ErrUnauthorized", err)
	}
	d.expectHits(t, "gRPC", 2, 2)
}

// bearerToken sends a bearer token as gRPC metadata, over TLS only.
type bearerToken string

func (b bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearerToken) RequireTransportSecurity() bool { return true }

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer // guarded by mu
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
