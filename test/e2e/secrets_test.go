package e2e

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	authzv1 "k8s.io/api/authorization/v1"

	"github.com/watchcached/watchcached/api/client"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
	"github.com/watchcached/watchcached/internal/testkit"
)

// TestSecrets_B155_NoCredentialInLogsOrMetrics: a whole authenticated run
// (a static token, a webhook token, a client certificate, wrong tokens,
// failing reviews, over HTTPS and gRPC) logged at debug level; neither
// the log nor /metrics holds a token, an Authorization header value, the
// review client's credential or a private key.
func TestSecrets_B155_NoCredentialInLogsOrMetrics(t *testing.T) {
	d := startDelegated(t)
	d.reviews.SetAuthorize(func(s authzv1.SubjectAccessReviewSpec) authzv1.SubjectAccessReviewStatus {
		ok := s.User == "alice" && (s.NonResourceAttributes != nil || s.ResourceAttributes.Namespace == "a")
		return authzv1.SubjectAccessReviewStatus{Allowed: ok}
	})
	client1 := d.ca.Client(t, "alice", "dev")
	certTr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: d.ca.Pool(), Certificates: []tls.Certificate{client1.TLS}}, ForceAttemptHTTP2: true}
	t.Cleanup(certTr.CloseIdleConnections)

	const wrongToken = "wr0ng-t0ken-s3cret"
	d.expect(t, "webhook token", "/api/v1/namespaces/a/pods", webhookToken, http.StatusOK, "")
	d.expect(t, "static token", "/api/v1/namespaces/a/pods", staticToken, http.StatusForbidden, "")
	d.expect(t, "wrong token", "/api/v1/namespaces/a/pods", wrongToken, http.StatusUnauthorized, body401)
	d.expect(t, "no token", "/api/v1/namespaces/a/pods", "", http.StatusUnauthorized, body401)
	certGet := &delegatedEnv{env: d.env, tr: certTr}
	certGet.expect(t, "client certificate", "/api/v1/namespaces/a/pods", "", http.StatusOK, "")
	d.reviews.Fail(http.StatusInternalServerError)
	d.expect(t, "failing TokenReview", "/api/v1/namespaces/a/pods", unknownToken, http.StatusUnauthorized, body401)
	d.expect(t, "failing SubjectAccessReview", "/api/v1/namespaces/z/pods", webhookToken, http.StatusInternalServerError, "")
	d.reviews.Fail(0)
	for _, tok := range []string{webhookToken, staticToken, wrongToken} {
		gc, err := client.Dial(d.d.GRPCAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: d.ca.Pool()})),
			grpc.WithPerRPCCredentials(bearerToken(tok)))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = gc.List(t.Context(), &pb.ListRequest{Resource: &pb.Resource{Version: "v1", Resource: "pods"}, Namespace: "a"})
		_ = gc.Close()
	}
	code, metrics := d.get(t, "/metrics", webhookToken)
	if code != http.StatusOK || !strings.Contains(metrics, "watchcached_") {
		t.Fatalf("/metrics: %d %.200s", code, metrics)
	}
	logs := d.logs.String()
	for _, want := range []string{"request not authenticated", "request forbidden", "TokenReview failed", "authorization failed"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log has no %q: the run did not take the paths it should", want)
		}
	}
	secrets := map[string]string{"webhook token": webhookToken, "static token": staticToken, "wrong token": wrongToken,
		"unknown token": unknownToken, "review credential": testkit.ReviewCredential, "Authorization value": "Bearer ",
		"client key": keyBody(client1.KeyPEM)}
	for what, s := range secrets {
		for where, out := range map[string]string{"log": logs, "/metrics": metrics} {
			if strings.Contains(out, s) {
				t.Errorf("the %s holds the %s", where, what)
			}
		}
	}
}

// keyBody is the first base64 line of a PEM key.
func keyBody(pemKey []byte) string {
	lines := bytes.Split(pemKey, []byte("\n"))
	return string(lines[1])
}
