// Command watchcached serves Kubernetes-style List, Get and Watch of
// resources stored in etcd from a watch cache. See docs/configuration.md.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cfg := app.DefaultConfig()
	cfg.Version = version
	fs := pflag.NewFlagSet("watchcached", pflag.ContinueOnError)
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTP listen address")
	fs.StringVar(&cfg.GRPCListen, "grpc-listen", cfg.GRPCListen, "gRPC listen address (empty disables)")
	fs.StringSliceVar(&cfg.EtcdServers, "etcd-servers", nil, "comma-separated etcd client URLs (empty: embedded etcd)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "embedded etcd data directory")
	fs.StringVar(&cfg.EtcdPrefix, "etcd-prefix", cfg.EtcdPrefix, "etcd key prefix")
	fs.StringVar(&cfg.ResourcesFile, "resources", "", "YAML file listing the served resources, or \"kube\" for kube-apiserver's etcd layout of the common built-ins (default: built-in list)")
	fs.StringVar(&cfg.EtcdCAFile, "etcd-cafile", "", "CA file to verify etcd servers")
	fs.StringVar(&cfg.EtcdCertFile, "etcd-certfile", "", "client certificate for etcd")
	fs.StringVar(&cfg.EtcdKeyFile, "etcd-keyfile", "", "client key for etcd")
	fs.BoolVar(&cfg.WatchCache, "watch-cache", cfg.WatchCache, "serve from the watch cache (false: straight from etcd)")
	fs.StringVar(&cfg.EmbeddedEtcdURL, "embedded-etcd-listen", "", "client URL of the embedded etcd, e.g. http://127.0.0.1:2379 (default: a free loopback port)")
	fs.DurationVar(&cfg.MaxWatchTimeout, "max-watch-timeout", 0, "longest watch without timeoutSeconds (default 60m)")
	fs.DurationVar(&cfg.WatchSlowClientTimeout, "watch-slow-client-timeout", server.DefaultSlowClientTimeout, "close a watch whose client has accepted no data for this long")
	cfg.AddCompactionFlags(fs)
	cfg.AddLimitFlags(fs)
	cfg.AddAuthFlags(fs)
	cfg.AddWriteFlags(fs)
	cfg.AddUpstreamFlags(fs)
	fs.DurationVar(&cfg.ReadyzMaxCacheLag, "readyz-max-cache-lag", 0, "how long a cache may go without holding its source's current revision before /readyz fails (negative: no lag check) (default 10s; 3m following an upstream)")
	fs.DurationVar(&cfg.EtcdHealthcheckTimeout, "etcd-healthcheck-timeout", cacher.DefaultHealthTimeout, "timeout of the etcd check of /readyz")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			return
		}
		// With ContinueOnError pflag returns the error without printing it.
		fmt.Fprintln(os.Stderr, "watchcached:", err)
		os.Exit(2)
	}
	logger, err := newLogger(*logLevel, *logFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "watchcached:", err)
		os.Exit(2)
	}
	cfg.Logger = logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, cfg); err != nil {
		logger.Error("watchcached failed", "err", err)
		os.Exit(1)
	}
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: must be text or json", format)
}
