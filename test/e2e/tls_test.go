package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/internal/testkit"
)

// tlsClient is a typed client-go client of the TLS daemon at host with
// cfg's credentials; its idle connections are closed by t.Cleanup.
func tlsClient(t *testing.T, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestTLS_B80_ClientGo: client-go with a bearer token and with a client
// certificate against the daemon over TLS; a wrong token gets
// kube-apiserver's 401 Status.
func TestTLS_B80_ClientGo(t *testing.T) {
	const token = "e2e-t0ken-s3cret"
	ca := testkit.NewCA(t, "e2e")
	srv, alice := ca.Server(t, "server"), ca.Client(t, "alice", "dev")
	tokens := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+",bob,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEnv(t, func(c *app.Config) {
		c.Auth = app.AuthConfig{TLSCertFile: srv.CertFile, TLSPrivateKeyFile: srv.KeyFile, ClientCAFile: ca.File, TokenAuthFile: tokens}
	})
	base := rest.Config{Host: "https://" + e.d.HTTPAddr, QPS: -1,
		TLSClientConfig: rest.TLSClientConfig{CAData: pemOf(t, ca.File)}}
	withToken, withCert, wrong := base, base, base
	withToken.BearerToken = token
	withCert.TLSClientConfig.CertData, withCert.TLSClientConfig.KeyData = alice.CertPEM, alice.KeyPEM
	wrong.BearerToken = "wr0ng"

	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	bob, al := tlsClient(t, &withToken).CoreV1().Pods("a"), tlsClient(t, &withCert).CoreV1().Pods("a")
	w, err := al.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch with a client certificate: %v", err)
	}
	defer w.Stop()
	created, err := bob.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create with a token: %v", err)
	}
	expectPodAdded(ctx, t, w, created)
	if l, err := al.List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 1 {
		t.Errorf("list with a client certificate: %v %v", l, err)
	}

	_, err = tlsClient(t, &wrong).CoreV1().Pods("a").Get(ctx, "p1", metav1.GetOptions{})
	var se *apierrors.StatusError
	want := metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
		Message: "Unauthorized", Reason: metav1.StatusReasonUnauthorized, Code: http.StatusUnauthorized}
	if !errors.As(err, &se) || se.ErrStatus.String() != want.String() {
		t.Errorf("wrong token: %v, want %v", err, want)
	}
}

func pemOf(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expectPodAdded fails unless the next event of w is ADDED of want at its
// resourceVersion.
func expectPodAdded(ctx context.Context, t *testing.T, w watch.Interface, want *corev1.Pod) {
	t.Helper()
	select {
	case ev := <-w.ResultChan():
		if p, ok := ev.Object.(*corev1.Pod); ev.Type != watch.Added || !ok || p.Name != want.Name || p.ResourceVersion != want.ResourceVersion {
			t.Errorf("watch event %v %v, want ADDED %s at %s", ev.Type, ev.Object, want.Name, want.ResourceVersion)
		}
	case <-ctx.Done():
		t.Fatal("no watch event")
	}
}
