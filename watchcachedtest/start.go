package watchcachedtest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/server"
)

// Options configure a test environment. The zero value serves the kube
// catalogue on a fresh embedded etcd.
type Options struct {
	// Resources, when set, are served instead of the kube catalogue.
	Resources []*api.Resource
	// ResourcesFile, when set, names a resources file (or "kube") read as
	// by `watchcached --resources`; it wins over Resources.
	ResourcesFile string
	// Logger receives the daemon's logs; nil discards them.
	Logger *slog.Logger
	// StartTimeout bounds the start and the wait for ready caches;
	// 0 means 30 s.
	StartTimeout time.Duration
	// Configure, when set, may change the daemon's configuration last,
	// before it starts (for the flags a test wants to try).
	Configure func(*app.Config)
}

// Env is a running test environment.
type Env struct {
	// Config reaches the daemon over HTTP; copy it (rest.CopyConfig)
	// before changing it.
	Config *rest.Config
	// Daemon is the running daemon: its addresses, its etcd endpoints.
	Daemon *app.Daemon
}

// Start starts a test environment, or fails the test, and returns the
// client configuration of its HTTP endpoint. It stops in t's cleanup.
func Start(t testing.TB, opts Options) *rest.Config {
	t.Helper()
	return StartEnv(t, opts).Config
}

// StartEnv is Start returning the whole environment.
func StartEnv(t testing.TB, opts Options) *Env {
	t.Helper()
	cfg := configFor(t, opts)
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	d, err := app.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("watchcachedtest: start: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(context.Background()); err != nil {
			t.Errorf("watchcachedtest: stop: %v", err)
		}
	})
	if err := d.WaitReady(ctx); err != nil {
		t.Fatalf("watchcachedtest: caches not ready: %v", err)
	}
	return &Env{Config: &rest.Config{Host: "http://" + d.HTTPAddr, QPS: -1}, Daemon: d}
}

// configFor is the daemon configuration of opts: loopback HTTP on a free
// port, no gRPC, a fast embedded etcd in a temporary directory, writes
// stored in it.
func configFor(t testing.TB, opts Options) app.Config {
	cfg := app.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.GRPCListen = ""
	cfg.DataDir = t.TempDir()
	cfg.FastEmbeddedEtcd = true
	cfg.WarmRestart = false // a fresh directory every time: no snapshot to start from
	cfg.WriteMode = server.WriteModeEtcd
	cfg.Logger = opts.Logger
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case opts.ResourcesFile != "":
		cfg.ResourcesFile = opts.ResourcesFile
	case opts.Resources != nil:
		cfg.Resources = opts.Resources
	default:
		cfg.ResourcesFile = app.KubeCatalogue
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	return cfg
}
