package app

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/server"
)

// LogOptions are the logging flags; NewLogger turns them into a logger.
type LogOptions struct {
	// Level is debug, info, warn or error (--log-level).
	Level string
	// Format is text or json (--log-format).
	Format string
}

// NewFlagSet is the daemon's whole command line: every flag of
// `watchcached`, filling cfg (whose current values are the defaults) and
// the returned LogOptions when the set is parsed. main parses it; tests
// use it to check that what is written elsewhere (the manifests in
// deploy/, the docs) names flags that exist.
func NewFlagSet(cfg *Config) (*pflag.FlagSet, *LogOptions) {
	fs := pflag.NewFlagSet("watchcached", pflag.ContinueOnError)
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTP listen address")
	fs.StringVar(&cfg.GRPCListen, "grpc-listen", cfg.GRPCListen, "gRPC listen address (empty disables)")
	fs.StringSliceVar(&cfg.EtcdServers, "etcd-servers", cfg.EtcdServers, "comma-separated etcd client URLs (empty: embedded etcd)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory: the embedded etcd's data and the caches' warm-restart snapshots (<data-dir>/snapshots)")
	fs.StringVar(&cfg.EtcdPrefix, "etcd-prefix", cfg.EtcdPrefix, "etcd key prefix")
	fs.StringVar(&cfg.ResourcesFile, "resources", cfg.ResourcesFile, "YAML file listing the served resources, or \"kube\" for kube-apiserver's etcd layout of the common built-ins (default: built-in list)")
	fs.StringVar(&cfg.EtcdCAFile, "etcd-cafile", cfg.EtcdCAFile, "CA file to verify etcd servers")
	fs.StringVar(&cfg.EtcdCertFile, "etcd-certfile", cfg.EtcdCertFile, "client certificate for etcd")
	fs.StringVar(&cfg.EtcdKeyFile, "etcd-keyfile", cfg.EtcdKeyFile, "client key for etcd")
	fs.BoolVar(&cfg.WatchCache, "watch-cache", cfg.WatchCache, "serve from the watch cache (false: straight from etcd)")
	fs.StringVar(&cfg.EmbeddedEtcdURL, "embedded-etcd-listen", cfg.EmbeddedEtcdURL, "client URL of the embedded etcd, e.g. http://127.0.0.1:2379 (default: a free loopback port)")
	fs.DurationVar(&cfg.MaxWatchTimeout, "max-watch-timeout", cfg.MaxWatchTimeout, "longest watch without timeoutSeconds (default 60m)")
	fs.DurationVar(&cfg.WatchSlowClientTimeout, "watch-slow-client-timeout", server.DefaultSlowClientTimeout, "close a watch whose client has accepted no data for this long")
	cfg.AddCompactionFlags(fs)
	cfg.AddLimitFlags(fs)
	cfg.AddAuthFlags(fs)
	cfg.AddWriteFlags(fs)
	cfg.AddCRDFlags(fs)
	cfg.AddUpstreamFlags(fs)
	cfg.AddServingFlags(fs)
	cfg.AddWarmFlags(fs)
	fs.DurationVar(&cfg.ReadyzMaxCacheLag, "readyz-max-cache-lag", 0, "how long a cache may go without holding its source's current revision before /readyz fails (negative: no lag check) (default 10s; 3m following an upstream)")
	fs.DurationVar(&cfg.EtcdHealthcheckTimeout, "etcd-healthcheck-timeout", cacher.DefaultHealthTimeout, "timeout of the etcd check of /readyz")
	lo := &LogOptions{}
	fs.StringVar(&lo.Level, "log-level", "info", "log level: debug (adds one access-log line per HTTP request), info, warn, error")
	fs.StringVar(&lo.Format, "log-format", "text", "log format: text or json")
	return fs, lo
}

// NewLogger is the logger the options describe, writing to w.
func (o *LogOptions) NewLogger(w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(o.Level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", o.Level, err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch o.Format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: must be text or json", o.Format)
}
