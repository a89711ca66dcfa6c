package etcdstore

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// EmbeddedConfig configures an etcd server run inside this process: the
// default for `watchcached` with no flags, and what tests run against.
type EmbeddedConfig struct {
	// Dir is the data directory (required).
	Dir string
	// ClientURL is where the etcd client API listens; default
	// "http://127.0.0.1:0" (a free port, read back from Endpoint).
	ClientURL string
	// Fast trades durability for speed: short raft ticks and no fsync. For
	// tests and throw-away data only.
	Fast bool
	// Logger receives etcd's logs; nil discards them.
	Logger *zap.Logger
	// QuotaBackendBytes is etcd's backend quota; 0 keeps etcd's default.
	QuotaBackendBytes int64
}

// Embedded is a running single-member etcd. Close stops it.
type Embedded struct {
	etcd *embed.Etcd
	// Endpoint is the client URL to dial, e.g. "http://127.0.0.1:40123".
	Endpoint string
}

// StartEmbedded starts a single-member etcd and waits until it serves
// (bounded by ctx).
func StartEmbedded(ctx context.Context, c EmbeddedConfig) (*Embedded, error) {
	if c.Dir == "" {
		return nil, fmt.Errorf("etcdstore: embedded etcd needs a data directory")
	}
	cfg := embed.NewConfig()
	cfg.Dir = c.Dir
	cfg.Name = "watchcached"
	clientURL := c.ClientURL
	if clientURL == "" {
		clientURL = "http://127.0.0.1:0"
	}
	cu, err := url.Parse(clientURL)
	if err != nil {
		return nil, fmt.Errorf("etcdstore: embedded etcd client URL: %w", err)
	}
	pu, _ := url.Parse("http://127.0.0.1:0")
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ListenMetricsUrls = nil
	if c.QuotaBackendBytes > 0 {
		cfg.QuotaBackendBytes = c.QuotaBackendBytes
	}
	if c.Fast {
		cfg.TickMs, cfg.ElectionMs = 10, 50
		cfg.UnsafeNoFsync = true
	}
	logger := c.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(logger)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcdstore: start embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcdstore: embedded etcd failed: %w", err)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("etcdstore: embedded etcd not ready: %w", ctx.Err())
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("etcdstore: embedded etcd not ready after 60s")
	}
	return &Embedded{etcd: e, Endpoint: "http://" + e.Clients[0].Addr().String()}, nil
}

// Err reports a fatal error of the running server.
func (e *Embedded) Err() <-chan error { return e.etcd.Err() }

// Close stops the server. Close every client of it first: etcd waits for
// open streams to end.
func (e *Embedded) Close() { e.etcd.Close() }
