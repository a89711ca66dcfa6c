package watchcachedtest_test

import (
	"context"
	"testing"

	"github.com/watchcached/watchcached/watchcachedtest"
)

// BenchmarkStart measures one environment's start until every cache of
// the kube catalogue is ready (embedded etcd included); the stop is not
// timed.
func BenchmarkStart(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		env := watchcachedtest.StartEnv(b, watchcachedtest.Options{})
		b.StopTimer()
		if err := env.Daemon.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
