package replicas

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// BenchmarkReplica_Cost starts b.N replicas with the default resources,
// one after the other and kept running, on one embedded etcd holding no
// objects, and reports what each one added: Go heap after a collection
// (the replica's fixed cost; etcd runs in this process, so its side of the
// replica's watches is included) and, from etcd's own gauges and
// counters, watch streams, watchers and range requests (its start-up
// lists and the probes in that time).
//
//	go test -run '^$' -bench Replica_Cost -benchtime 3x ./test/replicas/
func BenchmarkReplica_Cost(b *testing.B) {
	b.ReportAllocs()
	srv := etcdtest.Start(b)
	var reps []*app.Daemon
	defer func() {
		for _, d := range reps {
			if err := d.Close(context.Background()); err != nil {
				b.Error(err)
			}
		}
	}()
	var heap, streams, watchers, ranges float64
	for i := 0; b.Loop(); i++ {
		h0, m0 := heapAfterGC(), etcdGauges(b)
		cfg := replicaConfig([]string{srv.Endpoint})
		cfg.Resources = app.DefaultResources()
		d, err := app.Start(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		reps = append(reps, d)
		if err := d.WaitReady(context.Background()); err != nil {
			b.Fatal(err)
		}
		h1, m1 := heapAfterGC(), etcdGauges(b)
		heap += float64(h1) - float64(h0)
		streams += m1["etcd_debugging_mvcc_watch_stream_total"] - m0["etcd_debugging_mvcc_watch_stream_total"]
		watchers += m1["etcd_debugging_mvcc_watcher_total"] - m0["etcd_debugging_mvcc_watcher_total"]
		ranges += m1[rangeRPCs] - m0[rangeRPCs]
	}
	n := float64(b.N)
	b.ReportMetric(heap/n, "heap-B/replica")
	b.ReportMetric(streams/n, "etcd-watch-streams/replica")
	b.ReportMetric(watchers/n, "etcd-watchers/replica")
	b.ReportMetric(ranges/n, "etcd-ranges/start")
	b.ReportMetric(float64(len(app.DefaultResources())), "resources")
}

// rangeRPCs counts the Range requests etcd's gRPC server received.
const rangeRPCs = "grpc_server_started_total{Range}"

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// etcdGauges reads the embedded etcd's mvcc metrics from the default
// registry, where etcd registers them.
func etcdGauges(b *testing.B) map[string]float64 {
	fams, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "grpc_method" {
					name += "{" + l.GetValue() + "}"
				}
			}
			switch {
			case m.GetGauge() != nil:
				out[name] += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[name] += m.GetCounter().GetValue()
			}
		}
	}
	if _, ok := out["etcd_debugging_mvcc_watcher_total"]; !ok {
		b.Fatal(fmt.Errorf("etcd's mvcc metrics are not in the default registry"))
	}
	return out
}
