package etcdstore_test

import (
	"context"
	"log/slog"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
	"github.com/watchcached/watchcached/internal/testkit"
)

// BenchmarkWrite measures the write verbs end to end against the embedded
// etcd (so allocations include the in-process etcd server's). Each
// sub-benchmark writes one pod of its own; every iteration is one
// successful write.
func BenchmarkWrite(b *testing.B) {
	srv := etcdtest.Start(b)
	s, err := etcdstore.New(etcdstore.Config{Client: srv.Client, Resource: testkit.Pods(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	runs := 0 // -count runs each sub-benchmark again on the same etcd
	create := func(b *testing.B, base string) (*api.Object, string) {
		runs++
		name := base + strconv.Itoa(runs)
		obj, err := s.Create(ctx, "ns", testkit.PodJSON("ns", name, "n0", nil))
		if err != nil {
			b.Fatal(err)
		}
		return obj, name
	}
	b.Run("Verb=Update", func(b *testing.B) {
		_, name := create(b, "update")
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.Update(ctx, "ns", name, testkit.PodJSON("ns", name, "n"+strconv.Itoa(i), nil)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verb=Patch", func(b *testing.B) {
		_, name := create(b, "patch")
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.Patch(ctx, "ns", name, api.NewMergePatch([]byte(`{"spec":{"nodeName":"n`+strconv.Itoa(i)+`"}}`))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verb=PatchWithHint", func(b *testing.B) {
		hint, name := create(b, "hinted")
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if hint, err = s.PatchWithHint(ctx, "ns", name, api.NewMergePatch([]byte(`{"spec":{"nodeName":"n`+strconv.Itoa(i)+`"}}`)), hint); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verb=CreateDelete", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, name := create(b, "cd")
			if _, err := s.Delete(ctx, "ns", name, api.Preconditions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkApply compares a server-side apply of a deployment (B210) and
// a strategic merge patch (B76) with a merge patch making the same change, per request, end to end against
// the embedded etcd. Both record managedFields; the apply also merges
// through the structured-merge-diff schema of apps/v1 Deployment.
func BenchmarkApply(b *testing.B) {
	srv := etcdtest.Start(b)
	res := &api.Resource{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true}
	s, err := etcdstore.New(etcdstore.Config{Client: srv.Client, Resource: res, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	ctx := api.WithWriteOptions(context.Background(), api.WriteOptions{FieldManager: "bench"})
	deployment := func(name, image string) string {
		return `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"` + name + `","labels":{"app":"web"}},` +
			`"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},` +
			`"spec":{"containers":[{"name":"web","image":"` + image + `","ports":[{"containerPort":80}],` +
			`"resources":{"requests":{"cpu":"100m","memory":"64Mi"}}},{"name":"side","image":"side:1"}]}}}}`
	}
	runs := 0
	create := func(b *testing.B, base string) string {
		runs++
		name := base + strconv.Itoa(runs)
		if _, err := s.Create(ctx, "ns", []byte(deployment(name, "web:0"))); err != nil {
			b.Fatal(err)
		}
		return name
	}
	b.Run("Patch=Merge", func(b *testing.B) {
		name := create(b, "merge")
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := 0; b.Loop(); i++ {
			patch := `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:` + strconv.Itoa(i+1) +
				`","ports":[{"containerPort":80}],"resources":{"requests":{"cpu":"100m","memory":"64Mi"}}},{"name":"side","image":"side:1"}]}}}}`
			if _, err := s.Patch(ctx, "ns", name, api.NewMergePatch([]byte(patch))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Patch=Strategic", func(b *testing.B) {
		name := create(b, "smp")
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := 0; b.Loop(); i++ {
			// The same change as the merge patch's, as kubectl set image
			// sends it: the container found by name, the rest kept.
			patch := `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:` + strconv.Itoa(i+1) + `"}]}}}}`
			if _, err := s.Patch(ctx, "ns", name, api.Patch{Type: api.StrategicMergePatch, Data: []byte(patch)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Patch=Apply", func(b *testing.B) {
		runs++
		name := "apply" + strconv.Itoa(runs) // created by its first apply, so that the applier owns its fields
		if _, err := s.Patch(ctx, "ns", name, api.Patch{Type: api.ApplyPatch, Data: []byte(deployment(name, "web:0"))}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := 0; b.Loop(); i++ {
			patch := api.Patch{Type: api.ApplyPatch, Data: []byte(deployment(name, "web:"+strconv.Itoa(i+1)))}
			if _, err := s.Patch(ctx, "ns", name, patch); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportCPU starts measuring the process's CPU time (user and system, the
// in-process etcd's included); the function it returns reports it per
// iteration as cpu-µs/op.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
