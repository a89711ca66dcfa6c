package cacher

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/watchcached/watchcached/api"
)

// panickySource is the real store whose first WatchEvents panics, as a
// bug in applying one value would; it counts the lists.
type panickySource struct {
	Source
	lists    atomic.Int32
	panicked atomic.Bool
}

func (s *panickySource) ListAll(ctx context.Context, pageSize int64) ([]*api.Object, uint64, error) {
	s.lists.Add(1)
	return s.Source.ListAll(ctx, pageSize)
}

func (s *panickySource) WatchEvents(ctx context.Context, fromRev uint64) <-chan api.SourceBatch {
	if s.panicked.CompareAndSwap(false, true) {
		panic("boom in the reflector")
	}
	return s.Source.WatchEvents(ctx, fromRev)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// B91: a panic in the reflector loop is recovered, logged once with its
// stack and counted; the cache relists after a back-off and keeps serving
// new writes.
func TestReflector_B91_PanicRelists(t *testing.T) {
	var logs syncBuffer
	var src *panickySource
	e := newEnv(t, false, func(c *Config) {
		src = &panickySource{Source: c.Source}
		c.Source = src
		c.Metrics = NewMetrics(nil)
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	e.start()
	o := e.create("default", "after-panic", "n1")
	e.waitRV(o.RV)
	if got := testutil.ToFloat64(e.c.m.panics); got != 1 {
		t.Fatalf("panics counter = %v, want 1", got)
	}
	if got := src.lists.Load(); got != 2 {
		t.Fatalf("lists = %d, want 2 (the relist after the panic)", got)
	}
	got, err := e.c.Get(context.Background(), "default", "after-panic", api.GetOptions{ResourceVersion: "0"})
	if err != nil || got.RV != o.RV {
		t.Fatalf("Get after the panic = %v, %v; want RV %d", got, err, o.RV)
	}
	out := logs.String()
	if n := strings.Count(out, "cache reflector panicked"); n != 1 || !strings.Contains(out, "boom in the reflector") || !strings.Contains(out, "panic_test.go") {
		t.Fatalf("want one log line with the panic and its stack, got %d in:\n%s", n, out)
	}
}
