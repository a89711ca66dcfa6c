package app

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// TestReleaseDue_B251: free memory is returned only past releaseMin and
// when the heap holds more of it than live data, never for the GOGC
// headroom of a steady heap (free at most the live heap).
func TestReleaseDue_B251(t *testing.T) {
	for _, tc := range []struct {
		free, live uint64
		want       bool
	}{
		{releaseMin - 1, 0, false},
		{releaseMin, releaseMin - 1, true},
		{releaseMin, releaseMin, false},
		{3 << 30, 1 << 30, true},
		{1 << 30, 1 << 30, false},
	} {
		if got := releaseDue(tc.free, tc.live); got != tc.want {
			t.Errorf("releaseDue(%d, %d) = %v, want %v", tc.free, tc.live, got, tc.want)
		}
	}
	if free, live := heapFreeAndLive(); live == 0 && free == 0 {
		t.Fatal("runtime/metrics gave neither free nor live heap bytes")
	}
}

// TestReleaseMemory_B251_StopsWithContext: the release loop waits for the
// caches, returns at once when they never get ready, and once they are it
// keeps running until its context ends.
func TestReleaseMemory_B251_StopsWithContext(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	notReady := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); releaseMemory(ctx, notReady, log) }()
	cancel()
	waitClosed(t, done)

	ready := make(chan struct{})
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	done = make(chan struct{})
	go func() {
		defer close(done)
		releaseMemory(ctx, func(context.Context) error { close(ready); return nil }, log)
	}()
	waitClosed(t, ready)
	select {
	case <-done:
		t.Fatal("the loop returned while its context was live")
	default:
	}
	cancel()
	waitClosed(t, done)
	// A readiness error (e.g. a storage closed first) ends it too.
	releaseMemory(context.Background(), func(context.Context) error { return errors.New("closed") }, log)
}

func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
}
