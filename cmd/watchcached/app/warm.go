package app

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/internal/snapshot"
)

// Warm restart (docs/scaling.md): each cache of an etcd-fed resource keeps
// a snapshot file in <data-dir>/snapshots (internal/snapshot), saved every
// --warm-restart-interval and at shutdown, and starts from it. The cache
// decides when to load and save (cacher/warm.go); this file only names the
// files and learns the etcd cluster ID they are tied to.

// SnapshotDirName is the directory under --data-dir that holds the caches'
// snapshot files.
const SnapshotDirName = "snapshots"

// AddWarmFlags registers the warm-restart flags on fs, filling c.
func (c *Config) AddWarmFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.WarmRestart, "warm-restart", c.WarmRestart,
		"start each cache from its snapshot in <data-dir>/snapshots and watch etcd from the snapshot's revision instead of listing (false: always list, a cold start)")
	fs.DurationVar(&c.WarmRestartInterval, "warm-restart-interval", cacher.DefaultWarmSaveInterval,
		"how often each cache writes its snapshot (also written at shutdown; negative: only at shutdown)")
}

// warmEnabled reports whether caches start warm: etcd-fed, with a data
// directory for the files.
func (c *Config) warmEnabled() bool {
	return c.WarmRestart && c.DataDir != "" && !c.UpstreamMode()
}

// initWarm learns the etcd cluster ID the snapshot files are tied to. If
// etcd cannot tell it within the dial timeout, the caches start cold this
// time (and write no snapshots), and the log says so.
func (d *Daemon) initWarm(ctx context.Context) {
	if !d.cfg.warmEnabled() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := d.client.Get(ctx, d.cfg.EtcdPrefix+"/", clientv3.WithCountOnly(), clientv3.WithLimit(1), clientv3.WithSerializable())
	if err != nil {
		d.log.Warn("warm restart off for this run: etcd's cluster ID unknown", "err", err)
		return
	}
	d.clusterID = resp.Header.ClusterId
	d.warmDir = filepath.Join(d.cfg.DataDir, SnapshotDirName)
}

// warmStore is the snapshot file of res's cache; nil when warm restart is
// off.
func (d *Daemon) warmStore(res *api.Resource, store *etcdstore.Store) cacher.WarmStore {
	if d.warmDir == "" {
		return nil
	}
	return &snapshot.File{
		Path:      filepath.Join(d.warmDir, snapshot.FileName(res)),
		Resource:  res,
		KeyPrefix: store.KeyPrefix(),
		ClusterID: d.clusterID,
		Decode:    store.Decode,
	}
}

// validateWarm checks the warm-restart flags.
func (c *Config) validateWarm() error {
	if i := c.WarmRestartInterval; i > 0 && i < time.Second {
		return fmt.Errorf("--warm-restart-interval %v: must be at least 1s, or negative (only at shutdown)", i)
	}
	return nil
}
