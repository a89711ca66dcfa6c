package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
)

// daemon is watchcached run in-process on the proxied etcd endpoints,
// restartable on the same HTTP and gRPC ports so that clients keep their
// addresses. Safe for concurrent use.
type daemon struct {
	mu  sync.Mutex
	cfg app.Config  // guarded by mu; Listen and GRPCListen fixed after the first start
	d   *app.Daemon // guarded by mu; nil while restarting
}

func daemonConfig(endpoints []string) app.Config {
	cfg := app.DefaultConfig()
	cfg.Listen, cfg.GRPCListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.EtcdServers = endpoints
	cfg.DataDir = ""
	var res []*api.Resource
	for _, r := range app.DefaultResources() {
		if r.Resource == configmaps.name || r.Resource == pods.name {
			res = append(res, r)
		}
	}
	cfg.Resources = res
	cfg.Logger = slog.New(slog.DiscardHandler)
	if os.Getenv("FAULTS_VERBOSE") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	// Streams end (cleanly) every few seconds, so resumption is exercised
	// all the time; the server's deadline is randomised in [max/2, max].
	cfg.MaxWatchTimeout = 20 * time.Second
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

func startDaemon(ctx context.Context, endpoints []string) (*daemon, error) {
	d := &daemon{cfg: daemonConfig(endpoints)}
	if err := d.start(ctx); err != nil {
		return nil, err
	}
	d.cfg.Listen, d.cfg.GRPCListen = d.d.HTTPAddr, d.d.GRPCAddr
	return d, nil
}

// start starts the daemon, retrying while its ports are still being
// released by the previous run. Caller holds mu or owns d.
func (d *daemon) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		wd, err := app.Start(ctx, d.cfg)
		if err == nil {
			d.d = wd
			return wd.WaitReady(ctx)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("start watchcached: %w", err)
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

func (d *daemon) httpBase() string { return "http://" + d.cfg.Listen }

func (d *daemon) grpcAddr() string { return d.cfg.GRPCListen }

// restart stops watchcached gracefully and starts it again on the same
// ports while clients keep going.
//
// The drain gets its own deadline (drainTimeout), not the fault's, so the
// end of the fault window never cuts a shutdown short. watchcached is
// started again even if the drain failed (Close then stopped it forcibly):
// the failure is reported, and the rest of the run still checks clients.
func (d *daemon) restart(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	var closeErr error
	if err := d.d.Close(cctx); err != nil {
		closeErr = fmt.Errorf("close watchcached: %w", err)
	}
	d.d = nil
	if err := d.start(context.WithoutCancel(ctx)); err != nil {
		return errors.Join(closeErr, fmt.Errorf("start watchcached again: %w", err))
	}
	return closeErr
}

// drainTimeout bounds a graceful shutdown of watchcached in a restart.
const drainTimeout = 20 * time.Second

// close stops watchcached for good.
func (d *daemon) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.d == nil {
		return nil
	}
	err := d.d.Close(context.Background())
	d.d = nil
	return err
}
