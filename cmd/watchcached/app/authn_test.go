package app

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/client"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
	"github.com/watchcached/watchcached/internal/testkit"
	"github.com/watchcached/watchcached/server"
)

func writeTemp(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseTokens(t *testing.T) {
	got, err := parseTokens(strings.NewReader("t1,alice,1\n\nt2,bob,2,\"g1,g2\"\n,empty,3\nt1,carol,4,\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]server.User{"t1": {Name: "carol", UID: "4", Groups: []string{""}},
		"t2": {Name: "bob", UID: "2", Groups: []string{"g1", "g2"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for in, msg := range map[string]string{
		"t1,alice,1\nt2-secret,bob\n": "line 2: must have at least 3 columns (token, user name, user uid), found 2",
		"t1,alice,1\nt2,\"bob,2\n":    `line 2: extraneous or missing " in quoted-field`,
	} {
		_, err := parseTokens(strings.NewReader(in))
		if err == nil || err.Error() != msg || strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: got %v, want %s", in, err, msg)
		}
	}
}

func TestAuthFlags_ValidateErrors(t *testing.T) {
	ca := testkit.NewCA(t, "test")
	srv := ca.Server(t, "server")
	tokens := writeTemp(t, "tokens.csv", "t1,alice,1\n")
	badTokens := writeTemp(t, "bad.csv", "t1,alice,1\nsecret-t2\n")
	missing := filepath.Join(t.TempDir(), "missing")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"CertWithoutKey", []string{"--tls-cert-file", srv.CertFile}, "--tls-cert-file and --tls-private-key-file: give both or neither"},
		{"KeyWithoutCert", []string{"--tls-private-key-file", srv.KeyFile}, "--tls-cert-file and --tls-private-key-file: give both or neither"},
		{"UnreadableCert", []string{"--tls-cert-file", missing, "--tls-private-key-file", srv.KeyFile}, "stat " + missing + ": no such file or directory"},
		{"KeyNotAKey", []string{"--tls-cert-file", srv.CertFile, "--tls-private-key-file", srv.CertFile},
			"--tls-cert-file/--tls-private-key-file: tls: found a certificate rather than a key in the PEM for the private key"},
		{"ClientCAWithoutTLS", []string{"--client-ca-file", ca.File}, "--client-ca-file: client certificates need TLS (--tls-cert-file and --tls-private-key-file)"},
		{"ClientCANotPEM", []string{"--tls-cert-file", srv.CertFile, "--tls-private-key-file", srv.KeyFile, "--client-ca-file", tokens},
			"--client-ca-file " + tokens + ": no PEM certificate found"},
		{"MissingTokenFile", []string{"--token-auth-file", missing}, "--token-auth-file: open " + missing + ": no such file or directory"},
		{"BadTokenLine", []string{"--token-auth-file", badTokens},
			"--token-auth-file " + badTokens + ": line 2: must have at least 3 columns (token, user name, user uid), found 1"},
		{"NonLoopbackNoAuth", []string{"--listen", "0.0.0.0:8080"},
			`--listen "0.0.0.0:8080": not a loopback address and no authentication is configured (--client-ca-file, --token-auth-file, --authentication-kubeconfig); give --insecure-allow-anonymous to serve everyone anyway`},
		{"AllInterfacesGRPCNoAuth", []string{"--grpc-listen", ":8081"},
			`--grpc-listen ":8081": not a loopback address and no authentication is configured (--client-ca-file, --token-auth-file, --authentication-kubeconfig); give --insecure-allow-anonymous to serve everyone anyway`},
		{"NonLoopbackInsecure", []string{"--listen", "0.0.0.0:8080", "--grpc-listen", ":8081", "--insecure-allow-anonymous"}, ""},
		{"NonLoopbackWithTokens", []string{"--listen", "0.0.0.0:8080", "--token-auth-file", tokens}, ""},
		{"LocalhostNoAuth", []string{"--listen", "localhost:8080", "--grpc-listen", "[::1]:8081"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "")
			fs.StringVar(&cfg.GRPCListen, "grpc-listen", cfg.GRPCListen, "")
			cfg.AddAuthFlags(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			err := cfg.Validate()
			if got := errString(err); got != c.want || strings.Contains(got, "secret") {
				t.Errorf("got %v\nwant %s", err, c.want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// String is everything logged so far.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type bearerCreds string

func (b bearerCreds) GetRequestMetadata(_ context.Context, _ ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearerCreds) RequireTransportSecurity() bool { return true }

// TestDaemon_B80_TLSAndTokens runs the daemon with TLS, client CAs and a
// token file: HTTPS and gRPC over TLS authenticate, refuse, and the log
// (at debug) never holds a token.
func TestDaemon_B80_TLSAndTokens(t *testing.T) {
	const token, wrong = "daemon-t0ken-s3cret", "wr0ng-t0ken-s3cret"
	ca := testkit.NewCA(t, "test")
	srv, alice := ca.Server(t, "server"), ca.Client(t, "alice", "dev")
	var logs lockedBuffer
	cfg := testConfig(t)
	cfg.GRPCListen = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Auth = AuthConfig{TLSCertFile: srv.CertFile, TLSPrivateKeyFile: srv.KeyFile, ClientCAFile: ca.File,
		TokenAuthFile: writeTemp(t, "tokens.csv", token+",bob,1,\"g1\"\n")}
	d := startReady(t, t.Context(), cfg)

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	certTr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{alice.TLS}}, ForceAttemptHTTP2: true}
	defer certTr.CloseIdleConnections()
	for _, c := range []struct {
		name, token string
		tr          *http.Transport
		code        int
	}{{"Token", token, tr, 200}, {"Cert", "", certTr, 200}, {"Wrong", wrong, tr, 401}, {"None", "", tr, 401}} {
		req, _ := http.NewRequest(http.MethodGet, "https://"+d.HTTPAddr+"/api/v1/namespaces/a/pods", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := (&http.Client{Transport: c.tr}).Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || resp.Proto != "HTTP/2.0" {
			t.Errorf("%s: %d %s %s, want %d over HTTP/2.0", c.name, resp.StatusCode, resp.Proto, b, c.code)
		}
	}
	list := &pb.ListRequest{Resource: &pb.Resource{Version: "v1", Resource: "pods"}, Namespace: "a"}
	for _, c := range []struct {
		token string
		ok    bool
	}{{token, true}, {wrong, false}} {
		gc, err := client.Dial(d.GRPCAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: ca.Pool()})),
			grpc.WithPerRPCCredentials(bearerCreds(c.token)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = gc.List(t.Context(), list)
		_ = gc.Close()
		if (err == nil) != c.ok || (!c.ok && !errors.Is(err, api.ErrUnauthorized)) {
			t.Errorf("gRPC list with token ok=%v: %v", c.ok, err)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "request not authenticated") || strings.Contains(out, token) || strings.Contains(out, wrong) {
		t.Errorf("log holds a token or no refusal:\n%s", out)
	}
}

// TestDaemon_B82_InsecureAllowAnonymousWarns refuses all interfaces
// without authentication (before binding anything) and, when allowed,
// starts with a warning (on loopback: tests bind nothing else).
func TestDaemon_B82_InsecureAllowAnonymousWarns(t *testing.T) {
	var logs lockedBuffer
	cfg := testConfig(t)
	cfg.Listen = "0.0.0.0:0"
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	if _, err := Start(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "--insecure-allow-anonymous") {
		t.Fatalf("Start on 0.0.0.0 without authentication: %v", err)
	}
	cfg.Listen = "127.0.0.1:0"
	cfg.Auth.InsecureAllowAnonymous = true
	startReady(t, t.Context(), cfg)
	if !strings.Contains(logs.String(), "level=WARN msg=\"serving without authentication") {
		t.Errorf("no warning:\n%s", logs.String())
	}
}
