package etcdstore_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"

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
