package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/client"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
	"github.com/watchcached/watchcached/internal/testkit"
)

// The tokens of the tests' token file.
const (
	tokenBob   = "bob-s3cr3t-t0ken"
	tokenWrong = "not-a-t0ken-wr0ng"
)

// tlsEnv is a CA, the server's certificate, a client certificate of alice
// (groups dev and ops) and one from a CA the server does not trust.
type tlsEnv struct {
	ca, other *testkit.CA
	srv       *testkit.Issued
	alice     *testkit.Issued
	mallory   *testkit.Issued
}

func newTLSEnv(t *testing.T) *tlsEnv {
	ca, other := testkit.NewCA(t, "test"), testkit.NewCA(t, "other")
	return &tlsEnv{ca: ca, other: other, srv: ca.Server(t, "server"),
		alice: ca.Client(t, "alice", "dev", "ops"), mallory: other.Client(t, "mallory", "system:masters")}
}

// testAuthn trusts env's CA and knows bob's token; anonymous as given.
func (e *tlsEnv) testAuthn(anonymous bool) *Authentication {
	return &Authentication{ClientCAs: e.ca.Pool(), Anonymous: anonymous,
		Tokens: map[string]User{tokenBob: {Name: "bob", UID: "42", Groups: []string{"g1", "g2"}}}}
}

// serveTLS serves h over TLS as the daemon does (ServeTLS, HTTP/2) and
// returns its https URL.
func (e *tlsEnv) serveTLS(t *testing.T, h http.Handler) string {
	t.Helper()
	rl, err := NewCertReloader(e.srv.CertFile, e.srv.KeyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, TLSConfig: ServingTLSConfig(rl, true), ErrorLog: slog.NewLogLogger(slog.DiscardHandler, 0)}
	done := make(chan struct{})
	go func() { defer close(done); _ = hs.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = hs.Close(); <-done })
	return "https://" + ln.Addr().String()
}

// client is an HTTPS client trusting the CA, presenting certs; closed by
// t.Cleanup.
func (e *tlsEnv) client(t *testing.T, certs ...tls.Certificate) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool(), Certificates: certs}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// get GETs url with the bearer token (none when ""), returning the
// response's code, protocol and body.
func get(t *testing.T, c *http.Client, url, token string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Proto, strings.TrimSuffix(string(b), "\n")
}

var listPodsA = &pb.ListRequest{Resource: &pb.Resource{Version: "v1", Resource: "pods"}, Namespace: "a"}

var unauthorizedBody = status(401, "Unauthorized", "Unauthorized", "")

// whoami answers the request's user as JSON and whether the Authorization
// header was still there.
func whoami(w http.ResponseWriter, r *http.Request) {
	u, ok := UserFrom(r.Context())
	_ = json.NewEncoder(w).Encode(map[string]any{"user": u, "inContext": ok, "header": r.Header.Get("Authorization")})
}

func TestB80_AuthnUsers(t *testing.T) {
	e := newTLSEnv(t)
	srv := &Server{cfg: Config{Authentication: e.testAuthn(false)}, log: quietLog}
	url := e.serveTLS(t, srv.withAuthentication(http.HandlerFunc(whoami)))
	anonSrv := &Server{cfg: Config{Authentication: e.testAuthn(true)}, log: quietLog}
	anonURL := e.serveTLS(t, anonSrv.withAuthentication(http.HandlerFunc(whoami)))
	offSrv := &Server{cfg: Config{}, log: quietLog}
	offURL := e.serveTLS(t, offSrv.withAuthentication(http.HandlerFunc(whoami)))
	who := func(name, uid string, groups ...string) string {
		b, _ := json.Marshal(map[string]any{"user": User{Name: name, UID: uid, Groups: groups}, "inContext": true, "header": ""})
		return string(b)
	}
	for _, tc := range []struct {
		name, url, token string
		certs            []tls.Certificate
		code             int
		body             string
	}{
		{"ClientCert", url, "", []tls.Certificate{e.alice.TLS}, 200, who("alice", "", "dev", "ops", GroupAuthenticated)},
		{"Token", url, tokenBob, nil, 200, who("bob", "42", "g1", "g2", GroupAuthenticated)},
		{"CertWinsOverBadToken", url, tokenWrong, []tls.Certificate{e.alice.TLS}, 200, who("alice", "", "dev", "ops", GroupAuthenticated)},
		{"NoCredentials", url, "", nil, 401, unauthorizedBody},
		{"WrongToken", url, tokenWrong, nil, 401, unauthorizedBody},
		{"UntrustedCert", url, "", []tls.Certificate{e.mallory.TLS}, 401, unauthorizedBody},
		{"AnonymousOn", anonURL, "", nil, 200, who(UserAnonymous, "", GroupUnauthenticated)},
		{"AnonymousOnWrongToken", anonURL, tokenWrong, nil, 401, unauthorizedBody},
		{"AnonymousOnUntrustedCert", anonURL, "", []tls.Certificate{e.mallory.TLS}, 401, unauthorizedBody},
		{"AuthenticationOff", offURL, tokenWrong, nil, 200, `{"header":"","inContext":true,"user":{"Name":"system:anonymous","UID":"","Groups":["system:unauthenticated"]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := get(t, e.client(t, tc.certs...), tc.url+"/x", tc.token)
			if code != tc.code || body != tc.body {
				t.Errorf("got %d %s\nwant %d %s", code, body, tc.code, tc.body)
			}
		})
	}
}

// authnFixture is the full server (pods, nodes, deployments) with
// authentication, over TLS for HTTP and gRPC.
type authnFixture struct {
	*tlsEnv
	f    *fixture
	url  string
	grpc string
}

func newAuthnFixture(t *testing.T, anonymous bool, log *slog.Logger) *authnFixture {
	e := newTLSEnv(t)
	a := &authnFixture{tlsEnv: e}
	a.f = newFixture(t, func(c *Config) {
		c.Authentication = e.testAuthn(anonymous)
		if log != nil {
			c.Logger = log
		}
	})
	a.url = e.serveTLS(t, a.f.srv.Handler())
	rl, err := NewCertReloader(e.srv.CertFile, e.srv.KeyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := a.f.srv.NewGRPCServer(grpc.Creds(credentials.NewTLS(ServingTLSConfig(rl, true))))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	a.grpc = ln.Addr().String()
	return a
}

// bearer is per-RPC bearer-token credentials (over TLS only).
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return true }

// grpcClient dials the fixture over TLS with certs and, unless "", token.
func (a *authnFixture) grpcClient(t *testing.T, token string, certs ...tls.Certificate) *client.Client {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: a.ca.Pool(), Certificates: certs}))}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(token)))
	}
	c, err := client.Dial(a.grpc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestB80_Authn401HTTP(t *testing.T) {
	a := newAuthnFixture(t, false, nil)
	add(t, a.f.pods, "a", "p1", nil)
	for _, tc := range []struct {
		name, path, token string
		certs             []tls.Certificate
		code              int
	}{
		{"TokenListsPods", "/api/v1/namespaces/a/pods", tokenBob, nil, 200},
		{"CertListsPods", "/api/v1/namespaces/a/pods", "", []tls.Certificate{a.alice.TLS}, 200},
		{"NoCredentials", "/api/v1/namespaces/a/pods", "", nil, 401},
		{"WrongToken", "/api/v1/namespaces/a/pods", tokenWrong, nil, 401},
		{"UntrustedCert", "/api/v1/namespaces/a/pods", "", []tls.Certificate{a.mallory.TLS}, 401},
		{"ReadyzNeedsAuth", "/readyz", "", nil, 401},
		{"LivezNeedsAuth", "/livez", "", nil, 401},
		{"MetricsNeedsAuth", "/metrics", "", nil, 401},
		{"LivezWithToken", "/livez", tokenBob, nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, proto, body := get(t, a.client(t, tc.certs...), a.url+tc.path, tc.token)
			if proto != "HTTP/2.0" {
				t.Errorf("protocol %s, want HTTP/2.0", proto)
			}
			if code != tc.code {
				t.Fatalf("got %d %s, want %d", code, body, tc.code)
			}
			if code == 401 && body != unauthorizedBody {
				t.Errorf("body %s\nwant %s", body, unauthorizedBody)
			}
			if code == 200 && strings.Contains(tc.path, "pods") && !strings.Contains(body, `"name":"p1"`) {
				t.Errorf("list without p1: %s", body)
			}
		})
	}
}

func TestB80_AnonymousAuthOn(t *testing.T) {
	a := newAuthnFixture(t, true, nil)
	for _, path := range []string{"/readyz", "/api/v1/namespaces/a/pods"} {
		if code, _, body := get(t, a.client(t), a.url+path, ""); code != 200 {
			t.Errorf("anonymous GET %s: %d %s, want 200", path, code, body)
		}
	}
	if code, _, body := get(t, a.client(t), a.url+"/readyz", tokenWrong); code != 401 || body != unauthorizedBody {
		t.Errorf("wrong token with anonymous on: %d %s, want 401", code, body)
	}
	if _, err := a.grpcClient(t, "").List(t.Context(), listPodsA); err != nil {
		t.Errorf("anonymous gRPC list: %v", err)
	}
}

func TestB80_AuthnGRPC(t *testing.T) {
	a := newAuthnFixture(t, false, nil)
	add(t, a.f.pods, "a", "p1", nil)
	for _, tc := range []struct {
		name, token string
		certs       []tls.Certificate
		ok          bool
	}{
		{"Token", tokenBob, nil, true},
		{"ClientCert", "", []tls.Certificate{a.alice.TLS}, true},
		{"NoCredentials", "", nil, false},
		{"WrongToken", tokenWrong, nil, false},
		{"UntrustedCert", "", []tls.Certificate{a.mallory.TLS}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := a.grpcClient(t, tc.token, tc.certs...)
			l, err := c.List(t.Context(), listPodsA)
			if tc.ok {
				if err != nil || len(l.GetItems()) != 1 {
					t.Fatalf("list: %v %v", l, err)
				}
				return
			}
			if !errors.Is(err, api.ErrUnauthorized) || err.Error() != msgUnauthorized {
				t.Errorf("list: %v, want ErrUnauthorized %q", err, msgUnauthorized)
			}
			// The raw status of a watch: UNAUTHENTICATED, reason Unauthorized, code 401.
			conn, err := grpc.NewClient(a.grpc, grpc.WithTransportCredentials(credentials.NewTLS(
				&tls.Config{RootCAs: a.ca.Pool(), Certificates: tc.certs})), grpc.WithPerRPCCredentials(bearer(tc.token)))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ws, err := pb.NewWatchCacheClient(conn).Watch(t.Context(), &pb.WatchRequest{Resource: &pb.Resource{Version: "v1", Resource: "pods"}})
			if err == nil {
				_, err = ws.Recv()
			}
			st := grpcstatus.Convert(err)
			info, _ := grpcDetails(st)
			if st.Code() != codes.Unauthenticated || st.Message() != msgUnauthorized || info == nil ||
				info.Reason != "Unauthorized" || info.Metadata[GRPCMetaCode] != "401" || len(info.Metadata) != 1 {
				t.Errorf("watch: %v %v", st, info)
			}
		})
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestB80_LogNeverHoldsTheToken(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := newAuthnFixture(t, false, log)
	if code, _, _ := get(t, a.client(t), a.url+"/api/v1/namespaces/a/pods", tokenWrong); code != 401 {
		t.Fatalf("code %d, want 401", code)
	}
	if code, _, _ := get(t, a.client(t), a.url+"/api/v1/namespaces/a/pods", tokenBob); code != 200 {
		t.Fatalf("code %d, want 200", code)
	}
	_, err := a.grpcClient(t, tokenWrong).List(t.Context(), listPodsA)
	if !errors.Is(err, api.ErrUnauthorized) {
		t.Fatalf("gRPC list: %v", err)
	}
	code, _, metrics := get(t, a.client(t), a.url+"/metrics", tokenBob)
	if code != 200 || !strings.Contains(metrics, "watchcached_") {
		t.Fatalf("/metrics: %d", code)
	}
	out := logs.String()
	if strings.Contains(metrics, tokenWrong) || strings.Contains(metrics, tokenBob) {
		t.Error("metrics hold a token")
	}
	if n := strings.Count(out, "request not authenticated"); n != 2 {
		t.Errorf("%d refusals logged, want 2:\n%s", n, out)
	}
	for _, secret := range []string{tokenWrong, tokenBob, "Bearer"} {
		if strings.Contains(out, secret) || strings.Contains(err.Error(), secret) {
			t.Errorf("log or error holds %q:\n%s", secret, out)
		}
	}
	if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool { return strings.Contains(l, "reason=\"invalid bearer token\"") }) {
		t.Errorf("no reason logged:\n%s", out)
	}
}
