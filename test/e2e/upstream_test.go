package e2e

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/cmd/watchcached/app"
)

// Following an upstream API server: the upstream is a second watchcached
// (its own embedded etcd, or an etcd the test owns), and the follower
// serves the same resources from it with --upstream-kubeconfig.

// writeKubeconfig writes a kubeconfig naming the server at url, without
// credentials, and returns its path.
func writeKubeconfig(t *testing.T, url string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "upstream.kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: up
  cluster:
    server: %s
contexts:
- name: up
  context:
    cluster: up
    user: up
users:
- name: up
  user: {}
current-context: up
`, url)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startFollower starts a daemon following the server at upstreamURL (""
// when a mutate names the upstream) with the default resources plus
// widgets and waits until its caches are ready. The env has no etcd client: the follower has no etcd.
func startFollower(t *testing.T, upstreamURL string, mutate ...func(*app.Config)) *env {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.GRPCListen = ""
	cfg.DataDir = ""
	cfg.Logger = slog.New(slog.DiscardHandler)
	if os.Getenv("WATCHCACHED_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.Resources = append(app.DefaultResources(), widgetsResource())
	if upstreamURL != "" {
		cfg.UpstreamKubeconfig = writeKubeconfig(t, upstreamURL)
	}
	for _, m := range mutate {
		m(&cfg)
	}
	d := runDaemon(t, cfg, "follower")
	url := "http://" + d.HTTPAddr
	e := &env{d: d, url: url, cfg: &rest.Config{Host: url, QPS: -1}}
	var err error
	if e.cs, err = kubernetes.NewForConfig(rest.CopyConfig(e.cfg)); err != nil {
		t.Fatal(err)
	}
	if e.dyn, err = dynamic.NewForConfig(rest.CopyConfig(e.cfg)); err != nil {
		t.Fatal(err)
	}
	return e
}
