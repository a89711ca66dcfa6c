package app

import (
	"github.com/watchcached/watchcached/etcdstore"
)

// compactionObserver is implemented by a storage that wants to learn each
// compaction of etcd this process performs (rev: every revision below it
// is gone). Daemon.compacted calls ObserveCompaction from the compactor's
// goroutine, in increasing revision order; it must return quickly.
type compactionObserver interface {
	ObserveCompaction(rev uint64)
}

// startCompactor starts compacting etcd's history when
// Config.CompactionInterval is not 0; stopBackends stops it.
func (d *Daemon) startCompactor() error {
	interval := d.cfg.CompactionInterval()
	if interval == 0 {
		return nil
	}
	c, err := etcdstore.NewCompactor(etcdstore.CompactorConfig{
		Client:     d.client,
		Interval:   interval,
		Logger:     d.log,
		Registerer: d.registry,
		OnCompact:  d.compacted,
	})
	if err != nil {
		return err
	}
	d.stopCompactor = goRun(c.Run)
	return nil
}

// compacted is the compactor's OnCompact hook: it tells every storage that
// implements compactionObserver. d.storages is set before the compactor
// starts and never changes after.
func (d *Daemon) compacted(rev uint64) {
	for _, st := range d.storages {
		if o, ok := st.(compactionObserver); ok {
			o.ObserveCompaction(rev)
		}
	}
}
