package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/client"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// appPolicy lets alice read pods in namespace a.
const appPolicy = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pod-reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}
subjects: [{kind: User, name: alice}]
`

// TestDaemon_B110_AuthorizationPolicyFile: the daemon loads the policy
// file and the default policy: alice reads pods in a, bob is refused
// with kube-apiserver's 403 over HTTP and gRPC, both see /healthz.
func TestDaemon_B110_AuthorizationPolicyFile(t *testing.T) {
	cfg := testConfig(t)
	cfg.GRPCListen = "127.0.0.1:0"
	cfg.Auth = AuthConfig{TokenAuthFile: writeTemp(t, "tokens.csv", "alice-t,alice,1\nbob-t,bob,2\n"),
		AuthorizationPolicyFile: writeTemp(t, "policy.yaml", appPolicy)}
	d := startReady(t, t.Context(), cfg)
	get := func(token, path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+d.HTTPAddr+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, body := get("alice-t", "/api/v1/namespaces/a/pods"); code != 200 {
		t.Errorf("alice: %d %s", code, body)
	}
	const forbidden = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: ` +
		`User \"bob\" cannot list resource \"pods\" in API group \"\" in the namespace \"a\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}`
	if code, body := get("bob-t", "/api/v1/namespaces/a/pods"); code != 403 || body != forbidden {
		t.Errorf("bob: %d %s\nwant 403 %s", code, body, forbidden)
	}
	for _, tok := range []string{"alice-t", "bob-t"} {
		if code, body := get(tok, "/healthz"); code != 200 {
			t.Errorf("%s /healthz: %d %s", tok, code, body)
		}
	}
	gc, err := client.Dial(d.GRPCAddr, grpc.WithPerRPCCredentials(insecureBearer("bob-t")))
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	_, err = gc.List(t.Context(), &pb.ListRequest{Resource: &pb.Resource{Version: "v1", Resource: "pods"}, Namespace: "a"})
	if !errors.Is(err, api.ErrForbidden) {
		t.Errorf("gRPC bob: %v, want api.ErrForbidden", err)
	}
}

// insecureBearer sends a bearer token over plain text (tests only).
type insecureBearer string

func (b insecureBearer) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	return bearerCreds(b).GetRequestMetadata(ctx, uri...)
}
func (insecureBearer) RequireTransportSecurity() bool { return false }

// TestAuthzFlag_B110_ValidateErrors: a missing or bad policy file is refused
// at start, naming the flag, the file and the problem.
func TestAuthzFlag_B110_ValidateErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	bad := writeTemp(t, "bad.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b}\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--authorization-policy-file", missing}, "--authorization-policy-file " + missing + ": open " + missing + ": no such file or directory"},
		{[]string{"--authorization-policy-file", bad}, "--authorization-policy-file " + bad + `: RoleBinding "b": metadata.namespace is required`},
		{[]string{"--authorization-policy-file", writeTemp(t, "ok.yaml", appPolicy)}, ""},
	} {
		cfg := DefaultConfig()
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		cfg.AddAuthFlags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		if got := errString(cfg.Validate()); got != c.want {
			t.Errorf("%v: got %s\nwant %s", c.args, got, c.want)
		}
	}
}
