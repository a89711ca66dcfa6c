package app

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Memory release. A cache's initial list (and any relist) leaves garbage
// of about twice the data it loads; once collected, the Go runtime keeps
// those pages and returns them to the OS only slowly (its scavenger aims
// at the heap goal, and paces itself), so the daemon's RSS stays near the
// peak of the list long after. The release loop returns them at once:
// when every cache is ready, and afterwards whenever the heap holds more
// free, unreturned memory than live data (a transient spike such as a
// relist; never the steady GOGC headroom, which is at most the live
// heap), at most once per releaseEvery and only past releaseMin.
const (
	releaseEvery = time.Minute
	releaseMin   = 64 << 20
)

// releaseMemory is the release loop; it returns when ctx ends. ready
// blocks until every cache is ready (Daemon.WaitReady).
func releaseMemory(ctx context.Context, ready func(context.Context) error, log *slog.Logger) {
	if ready(ctx) != nil {
		return
	}
	debug.FreeOSMemory()
	log.Debug("returned free memory to the OS", "reason", "caches ready")
	t := time.NewTicker(releaseEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if free, live := heapFreeAndLive(); releaseDue(free, live) {
			debug.FreeOSMemory()
			log.Debug("returned free memory to the OS", "reason", "heap spike", "freeBytes", free, "liveBytes", live)
		}
	}
}

// releaseDue reports whether free unreturned heap bytes warrant a
// release, given the live heap of the last collection.
func releaseDue(free, live uint64) bool {
	return free >= releaseMin && free > live
}

// heapFreeAndLive reads the heap's free, not yet returned bytes and its
// live bytes as of the last collection.
func heapFreeAndLive() (free, live uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	for i := range s {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0, 0
		}
	}
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}
