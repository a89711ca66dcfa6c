package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/server"
)

// Config is the daemon's configuration, filled from flags by main or
// directly by tests. Start validates it.
type Config struct {
	// Listen is the HTTP address, host:port (port 0 picks a free port;
	// Daemon.HTTPAddr tells which).
	Listen string
	// GRPCListen is the gRPC address; "" disables gRPC. Port 0 picks a
	// free port; Daemon.GRPCAddr tells which.
	GRPCListen string
	// EtcdServers are the client URLs of an external etcd cluster; empty
	// means an embedded etcd in DataDir.
	EtcdServers []string
	// DataDir is the embedded etcd's data directory.
	DataDir string
	// EtcdPrefix is the key prefix of all resources, default "/registry".
	EtcdPrefix string
	// ResourcesFile is a YAML list of resources (see LoadResources), or
	// "kube" for KubeResources; ""
	// means Resources, or DefaultResources when that is empty too.
	ResourcesFile string
	// EtcdCAFile, EtcdCertFile and EtcdKeyFile configure TLS to an
	// external etcd: the CA alone verifies the server; cert and key (both
	// or neither) authenticate the client.
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	// WatchCache serves resources from the watch cache (unless a resource
	// says cache: false); false serves everything straight from etcd.
	WatchCache bool
	// Resources are the served resources when ResourcesFile is "".
	Resources []*api.Resource
	// Logger receives the daemon's logs; nil means slog.Default().
	Logger *slog.Logger
	// MaxWatchTimeout is the server's maximum watch duration (B44); 0
	// means the server's default (60 minutes).
	MaxWatchTimeout time.Duration
	// WatchSlowClientTimeout closes a watch whose client has accepted no
	// data for this long (--watch-slow-client-timeout); 0 means the
	// server's default (60 s).
	WatchSlowClientTimeout time.Duration
	// Limits are the server's admission limits (B93); zero fields mean no
	// limit. DefaultConfig sets server.DefaultLimits.
	Limits server.Limits
	// RequestLimits bound URLs and selectors (B200, B201); zero fields mean
	// no limit. DefaultConfig sets server.DefaultRequestLimits.
	RequestLimits server.RequestLimits
	// GRPCMaxConcurrentStreams bounds the streams of one gRPC connection
	// (B202); 0 means server.DefaultGRPCMaxConcurrentStreams.
	GRPCMaxConcurrentStreams int
	// MaxConnections bounds the open connections of each listener (HTTP
	// and gRPC, B203); 0 means no limit.
	MaxConnections int
	// ShutdownTimeout bounds the graceful part of Close when its context
	// has no deadline; default 10 s.
	ShutdownTimeout time.Duration
	// FastEmbeddedEtcd trades the embedded etcd's durability for speed
	// (short raft ticks, no fsync): for tests and throw-away data only.
	FastEmbeddedEtcd bool
	// EmbeddedEtcdURL is where the embedded etcd's client API listens;
	// empty means a free loopback port. Give it to let other tools (a
	// benchmark, etcdctl) reach the same etcd.
	EmbeddedEtcdURL string
	// EtcdCompactionInterval is how often etcd's history is compacted,
	// keeping the last interval of it (see etcdstore.Compactor). nil means
	// the default: etcdstore.DefaultCompactionInterval (5m) for the
	// embedded etcd, off for an external etcd (its owner compacts it); 0
	// disables. CompactionInterval resolves it.
	EtcdCompactionInterval *time.Duration
	// EmbeddedEtcdQuotaBytes is the embedded etcd's space quota, past which
	// it refuses writes (NOSPACE); 0 means DefaultEmbeddedEtcdQuotaBytes.
	EmbeddedEtcdQuotaBytes int64
	// Version is reported by /version.
	Version string
	// ReadyzMaxCacheLag is how long a cache may go without holding etcd's
	// current revision before /readyz fails; 0 means 10 s, negative
	// disables the lag check (--readyz-max-cache-lag).
	ReadyzMaxCacheLag time.Duration
	// EtcdHealthcheckTimeout bounds each request of the etcd check of
	// /readyz; 0 means 2 s (--etcd-healthcheck-timeout).
	EtcdHealthcheckTimeout time.Duration
	// Auth is the serving TLS and the authentication (authn.go).
	Auth AuthConfig
	// WriteMode is what becomes of writes (write_mode.go): etcd, reject or
	// forward; "" means EffectiveWriteMode's default (--write-mode).
	WriteMode string
	// ForwardKubeconfig is the kubeconfig of the kube-apiserver that
	// forward mode sends writes to (--forward-kubeconfig).
	ForwardKubeconfig string
	// Profiling serves pprof under /debug/pprof/ (--profiling).
	Profiling bool
	// HTTP2MaxStreamsPerConnection bounds the streams of one HTTP/2
	// connection (--http2-max-streams-per-connection); 0 means
	// DefaultHTTP2MaxStreamsPerConnection.
	HTTP2MaxStreamsPerConnection int
	// ServeCRDs serves the custom resources of the CRDs stored in etcd
	// (--serve-crds, B190); nil means CRDsServed's default.
	ServeCRDs *bool
	// UpstreamKubeconfig is the kubeconfig of an API server to follow
	// instead of etcd (--upstream-kubeconfig, upstream.go).
	UpstreamKubeconfig string
	// UpstreamInCluster follows the API server of the cluster this runs in
	// (--upstream-in-cluster).
	UpstreamInCluster bool
	// UpstreamConsistentReadTimeout bounds a consistent read's wait for
	// the cache to reach the upstream's revision; 0 means
	// DefaultUpstreamConsistentReadTimeout.
	UpstreamConsistentReadTimeout time.Duration
	// UpstreamWatchList is how caches list the upstream: "" or "auto",
	// "on", "off" (--upstream-watch-list).
	UpstreamWatchList string
	// WarmRestart starts each etcd-fed cache from its snapshot in
	// DataDir/snapshots (--warm-restart, warm.go); off without a DataDir.
	WarmRestart bool
	// WarmRestartInterval is how often caches write their snapshots
	// (--warm-restart-interval); 0 means cacher.DefaultWarmSaveInterval,
	// negative only at shutdown.
	WarmRestartInterval time.Duration
}

// CRDsServed reports whether custom resources are served from the CRDs
// stored in etcd: as configured, else with the kube catalogue (whose
// customresourcedefinitions they need).
func (c *Config) CRDsServed() bool {
	if c.ServeCRDs != nil {
		return *c.ServeCRDs
	}
	return c.ResourcesFile == KubeCatalogue && !c.UpstreamMode()
}

// DefaultEmbeddedEtcdQuotaBytes is the embedded etcd's default space
// quota: etcd's own default, 2 GiB, set explicitly.
const DefaultEmbeddedEtcdQuotaBytes int64 = 2 << 30

// CompactionInterval is the compaction interval in effect: the configured
// one, else 5m with the embedded etcd and 0 (off) with an external etcd.
func (c *Config) CompactionInterval() time.Duration {
	switch {
	case c.UpstreamMode():
		return 0
	case c.EtcdCompactionInterval != nil:
		return *c.EtcdCompactionInterval
	case len(c.EtcdServers) == 0:
		return etcdstore.DefaultCompactionInterval
	}
	return 0
}

// EmbeddedQuotaBytes is the embedded etcd's space quota in effect.
func (c *Config) EmbeddedQuotaBytes() int64 {
	if c.EmbeddedEtcdQuotaBytes == 0 {
		return DefaultEmbeddedEtcdQuotaBytes
	}
	return c.EmbeddedEtcdQuotaBytes
}

// DefaultConfig is the configuration of `watchcached` with no flags.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		GRPCListen:      "127.0.0.1:8081",
		DataDir:         "./watchcached-data",
		EtcdPrefix:      "/registry",
		WatchCache:      true,
		WarmRestart:     true,
		ShutdownTimeout: 10 * time.Second,
		Limits:          server.DefaultLimits,
		RequestLimits:   server.DefaultRequestLimits,
		Auth:            AuthConfig{Delegated: DefaultDelegatedConfig()},

		HTTP2MaxStreamsPerConnection: DefaultHTTP2MaxStreamsPerConnection,
	}
}

// Validate checks the configuration and reports the first problem in
// terms of the flag that sets it.
func (c *Config) Validate() error {
	if err := validateAddr("--listen", c.Listen); err != nil {
		return err
	}
	if c.GRPCListen != "" {
		if err := validateAddr("--grpc-listen", c.GRPCListen); err != nil {
			return err
		}
	}
	if err := c.validateUpstream(); err != nil {
		return err
	}
	if !c.UpstreamMode() {
		if err := c.validateEtcd(); err != nil {
			return err
		}
		if err := c.validateCompaction(); err != nil {
			return err
		}
	}
	if err := c.validateWarm(); err != nil {
		return err
	}
	if err := c.validateLimits(); err != nil {
		return err
	}
	if err := c.validateAuth(); err != nil {
		return err
	}
	if err := c.validateWrites(); err != nil {
		return err
	}
	if err := c.validateServing(); err != nil {
		return err
	}
	if c.EtcdPrefix == "" || c.EtcdPrefix[0] != '/' || strings.Contains(c.EtcdPrefix, "//") {
		return fmt.Errorf("--etcd-prefix %q: must start with '/' and contain no empty segment", c.EtcdPrefix)
	}
	if c.ResourcesFile != "" && len(c.Resources) > 0 {
		return errors.New("--resources: both a resources file and built-in resources are configured")
	}
	if c.ResourcesFile == "" && len(c.Resources) > 0 {
		if err := checkResources(c.Resources, c.EtcdPrefix); err != nil {
			return err
		}
	}
	if c.WatchSlowClientTimeout < 0 {
		return fmt.Errorf("--watch-slow-client-timeout %v: must not be negative", c.WatchSlowClientTimeout)
	}
	if c.MaxWatchTimeout < 0 || c.ShutdownTimeout < 0 {
		return errors.New("timeouts must not be negative")
	}
	if c.EtcdHealthcheckTimeout < 0 {
		return fmt.Errorf("--etcd-healthcheck-timeout %v: must not be negative", c.EtcdHealthcheckTimeout)
	}
	if lag := c.ReadyzMaxCacheLag; lag > 0 && lag <= cacher.DefaultProgressInterval {
		return fmt.Errorf("--readyz-max-cache-lag %v: must exceed the caches' progress interval %v (an idle cache catches up only then), or be negative to disable the lag check",
			lag, cacher.DefaultProgressInterval)
	}
	return nil
}

func (c *Config) validateEtcd() error {
	schemes := map[string]bool{}
	for _, s := range c.EtcdServers {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--etcd-servers: %q is not an http:// or https:// URL", s)
		}
		schemes[u.Scheme] = true
	}
	tls := c.EtcdCAFile != "" || c.EtcdCertFile != "" || c.EtcdKeyFile != ""
	// The etcd client dials every endpoint with the first one's scheme and
	// drops TLS for http://, so a mix, or TLS files with http:// URLs,
	// would silently talk plain text.
	switch {
	case schemes["http"] && schemes["https"]:
		return errors.New("--etcd-servers: mixes http:// and https:// URLs; use one scheme for all")
	case schemes["http"] && tls:
		return errors.New("--etcd-cafile/--etcd-certfile/--etcd-keyfile: TLS needs https:// URLs in --etcd-servers")
	}
	switch {
	case len(c.EtcdServers) == 0 && c.DataDir == "":
		return errors.New("--data-dir: required for the embedded etcd (no --etcd-servers given)")
	case len(c.EtcdServers) > 0 && c.EmbeddedEtcdURL != "":
		return errors.New("--embedded-etcd-listen: only applies to the embedded etcd (no --etcd-servers)")
	case c.EmbeddedEtcdURL != "" && !isLoopbackHTTP(c.EmbeddedEtcdURL):
		return fmt.Errorf("--embedded-etcd-listen: %q is not an http:// URL on a loopback address", c.EmbeddedEtcdURL)
	case len(c.EtcdServers) == 0 && tls:
		return errors.New("--etcd-cafile/--etcd-certfile/--etcd-keyfile: only apply with --etcd-servers")
	case (c.EtcdCertFile == "") != (c.EtcdKeyFile == ""):
		return errors.New("--etcd-certfile and --etcd-keyfile: give both or neither")
	}
	for flag, path := range map[string]string{"--etcd-cafile": c.EtcdCAFile, "--etcd-certfile": c.EtcdCertFile, "--etcd-keyfile": c.EtcdKeyFile} {
		if path == "" {
			continue
		}
		if st, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		} else if st.IsDir() {
			return fmt.Errorf("%s: %s is a directory", flag, path)
		}
	}
	return nil
}

// validateCompaction checks the compaction interval and the embedded
// etcd's quota. An interval under a second is refused: it would compact
// away the history watchers resume from faster than they can reconnect.
func (c *Config) validateCompaction() error {
	if p := c.EtcdCompactionInterval; p != nil && (*p < 0 || (*p > 0 && *p < time.Second)) {
		return fmt.Errorf("--etcd-compaction-interval %v: must be 0 (off) or at least 1s", *p)
	}
	switch {
	case c.EmbeddedEtcdQuotaBytes < 0:
		return fmt.Errorf("--embedded-etcd-quota-bytes %d: must not be negative (0 means the default, %d)",
			c.EmbeddedEtcdQuotaBytes, DefaultEmbeddedEtcdQuotaBytes)
	case c.EmbeddedEtcdQuotaBytes != 0 && len(c.EtcdServers) > 0:
		return errors.New("--embedded-etcd-quota-bytes: only applies to the embedded etcd (no --etcd-servers)")
	}
	return nil
}

// validateAddr checks a host:port listen address.
func validateAddr(flag, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q: %w", flag, addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%s %q: port must be a number from 0 to 65535", flag, addr)
	}
	return nil
}

// isLoopbackHTTP reports whether s is http://<loopback address>:<port>: the
// embedded etcd serves without TLS or authentication, so it may only listen
// where nothing but this machine can reach it.
func isLoopbackHTTP(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
}
