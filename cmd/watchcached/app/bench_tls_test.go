package app

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// benchDaemon starts a daemon for a benchmark, with pod default/p1 in its
// cache, and returns a client transport for it, its base URL, the
// Authorization header to send and what stops it. tls serves HTTPS
// (HTTP/2); secured adds a static token and a policy file that lets the
// token's user get pods.
func benchDaemon(b *testing.B, withTLS, secured bool) (tr *http.Transport, base, auth string, stop func()) {
	b.Helper()
	cfg := DefaultConfig()
	cfg.Listen, cfg.GRPCListen, cfg.DataDir, cfg.FastEmbeddedEtcd = "127.0.0.1:0", "", b.TempDir(), true
	cfg.Logger = slog.New(slog.DiscardHandler)
	tr = &http.Transport{MaxIdleConnsPerHost: 64}
	scheme := "http"
	if withTLS {
		ca := testkit.NewCA(b, "bench")
		srv := ca.Server(b, "server")
		cfg.Auth.TLSCertFile, cfg.Auth.TLSPrivateKeyFile = srv.CertFile, srv.KeyFile
		tr = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true}
		scheme = "https"
	}
	if secured {
		dir := b.TempDir()
		tokens, policy := filepath.Join(dir, "tokens.csv"), filepath.Join(dir, "policy.yaml")
		if err := os.WriteFile(tokens, []byte("bench-t0ken,alice,1\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(policy, []byte(strings.ReplaceAll(appPolicy, "namespace: a", "namespace: default")), 0o600); err != nil {
			b.Fatal(err)
		}
		cfg.Auth.TokenAuthFile, cfg.Auth.AuthorizationPolicyFile = tokens, policy
		auth = "Bearer bench-t0ken"
	}
	ctx := context.Background()
	d, err := Start(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	stop = func() {
		tr.CloseIdleConnections()
		_ = d.Close(context.Background())
	}
	if err := d.WaitReady(ctx); err != nil {
		stop()
		b.Fatal(err)
	}
	base = scheme + "://" + d.HTTPAddr
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/namespaces/default/pods",
		strings.NewReader(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1"},"spec":{"nodeName":"n1"}}`))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	// The policy grants reads only, so the create was refused (403) when
	// secured; create the pod through etcd's own storage then.
	if resp.StatusCode == http.StatusForbidden {
		if _, err := d.storages[0].Create(ctx, "default", []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1"},"spec":{"nodeName":"n1"}}`)); err != nil {
			b.Fatal(err)
		}
	} else if resp.StatusCode != http.StatusCreated {
		b.Fatalf("create: %d", resp.StatusCode)
	}
	// A consistent read waits until the cache holds the pod, so that
	// resourceVersion=0 finds it.
	if _, err := d.storages[0].Get(ctx, "default", "p1", api.GetOptions{}); err != nil {
		b.Fatal(err)
	}
	return tr, base, auth, stop
}

// BenchmarkGetRV0_TLS: GET of one pod with resourceVersion=0 (from the
// cache) by 10 concurrent clients, over plain HTTP/1.1 (a connection per
// client), over TLS with HTTP/2 (every client on one connection, as
// client-go multiplexes), and over TLS with a bearer token and RBAC
// authorization. Issue 11's target: TLS within 1.5x of plain HTTP.
func BenchmarkGetRV0_TLS(b *testing.B) {
	for _, c := range []struct {
		name         string
		tls, secured bool
		proto        int
	}{{"plain-http1", false, false, 1}, {"tls-http2", true, false, 2}, {"tls-http2-token-rbac", true, true, 2}} {
		tr, base, auth, stop := benchDaemon(b, c.tls, c.secured)
		b.Run(c.name, func(b *testing.B) {
			client := &http.Client{Transport: tr}
			url := base + "/api/v1/namespaces/default/pods/p1?resourceVersion=0"
			var failed atomic.Value
			get := func() {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := client.Do(req)
				if err != nil {
					failed.Store(err.Error())
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.ProtoMajor != c.proto {
					failed.Store(resp.Status + " " + resp.Proto)
				}
			}
			get()
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((10 + procs - 1) / procs) // 10 clients
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get()
				}
			})
			b.StopTimer()
			if f := failed.Load(); f != nil {
				b.Fatalf("a GET failed: %v", f)
			}
		})
		stop()
	}
}
