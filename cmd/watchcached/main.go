// Command watchcached serves Kubernetes-style List, Get and Watch of
// resources stored in etcd from a watch cache. See docs/configuration.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/watchcached/watchcached/cmd/watchcached/app"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cfg := app.DefaultConfig()
	cfg.Version = version
	fs, logOpts := app.NewFlagSet(&cfg)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			return
		}
		// With ContinueOnError pflag returns the error without printing it.
		fmt.Fprintln(os.Stderr, "watchcached:", err)
		os.Exit(2)
	}
	logger, err := logOpts.NewLogger(os.Stderr)
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
