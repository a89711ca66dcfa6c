package test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/internal/testkit"
	"github.com/watchcached/watchcached/test/conformance"
	"github.com/watchcached/watchcached/watchcache"
)

var (
	randomWrites = flag.Int("random.writes", 1500, "random writes of TestRandomWatch_StreamsEqualEtcdHistory_B41 (at least 500)")
	randomSeed   = flag.Uint64("random.seed", 0, "seed of TestRandomWatch_StreamsEqualEtcdHistory_B41; 0 picks one from the clock")
)

const (
	randomRing     = 256 // the cache's ring: slow watchers fall out of it, fast ones do not
	randomWarmup   = 60  // writes before the watchers start; their start RVs lie in these
	randomTick     = 40  // writes between two pauses of the slow watchers
	randomWatchers = 12
	randomKeys     = 10 // names per namespace
)

var (
	randomNamespaces = []string{"ns-0", "ns-1", "ns-2"}
	randomNodes      = []string{"node-0", "node-1", "node-2", "node-3"}
	// randomFences are created after every random write, covering each
	// namespace and node, so that every watcher's last expected event is
	// the ADDED of a fence it can recognise without knowing etcd's history.
	randomFences = []podState{
		{"ns-0", "zz-fence-0", "node-0"}, {"ns-1", "zz-fence-1", "node-1"},
		{"ns-2", "zz-fence-2", "node-2"}, {"ns-0", "zz-fence-3", "node-3"},
	}
)

// TestRandomWatch_StreamsEqualEtcdHistory_B41 checks B41 (and B40, B43) on the cache: K watchers,
// started at random RVs in the ring's history with random selectors, some
// reading at full speed, some in bursts with pauses, some closing early,
// while a writer does random creates, updates and deletes with optimistic
// concurrency. Each stream must equal etcd's own history after its start
// RV, filtered and transformed by its selector — or be a prefix of it
// ended by a 410 ERROR (slow watchers overrun by the ring), or a prefix
// ended by the client's Close. At least one watcher must expire and one
// complete, so the test cannot pass vacuously.
func TestRandomWatch_StreamsEqualEtcdHistory_B41(t *testing.T) {
	if *randomWrites < 500 {
		t.Fatalf("-random.writes=%d: need at least 500 for a slow watcher to be overrun", *randomWrites)
	}
	seed := *randomSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -random.seed=%d), %d writes", seed, seed, *randomWrites)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	res := conformance.Pods()
	srv, st := newStore(t, res)
	c := newCacher(t, st, func(cfg *cacher.Config) {
		cfg.FreshnessTimeout = 3 * time.Second
		cfg.WatchCache = watchcache.Config{MinCapacity: randomRing, MaxCapacity: randomRing, Window: time.Nanosecond}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := srv.Client.Get(ctx, "/", clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	startRev := uint64(resp.Header.Revision)
	raw := startRawHistory(ctx, srv.Client, res.Prefix("/registry"), startRev+1)

	wr := &randomWriter{t: t, c: c, rng: rng, ticks: newTicker(), done: make(chan struct{})}
	defer wr.finish()
	lastWarm := startRev
	for range randomWarmup {
		lastWarm = wr.write()
	}
	watchers := make([]*randomWatcher, randomWatchers)
	for i := range watchers {
		watchers[i] = startRandomWatcher(t, c, res, rng, i, startRev+rng.Uint64N(lastWarm-startRev+1))
		go watchers[i].run(wr.ticks, wr.done)
	}
	for range *randomWrites - randomWarmup {
		wr.write()
	}
	wr.finish()
	var last uint64
	for _, f := range randomFences {
		last = wr.create(f.ns, f.name, f.node)
	}
	hist := raw.wait(t, last)
	for _, w := range watchers {
		<-w.done
	}
	t.Logf("%d writes, %d conflicts retried, history of %d events", wr.writes, wr.conflicts, len(hist))
	checkRandomWatchers(t, watchers, hist)
}

func checkRandomWatchers(t *testing.T, watchers []*randomWatcher, hist []rawEvent) {
	t.Helper()
	var expired, completed, closed int
	for _, w := range watchers {
		exp := expected(hist, w.from, w.f)
		desc := fmt.Sprintf("watcher %d (%s from %d, slow=%v, closeAfter=%d)", w.id, w.f, w.from, w.slow, w.closeAfter)
		switch {
		case w.err != nil:
			if !errors.Is(w.err, api.ErrExpired) || !strings.HasPrefix(w.err.Error(), "too old resource version: ") {
				t.Errorf("%s: error %v, want 410 too old", desc, w.err)
			}
			expired++
		case w.closed:
			closed++
		default:
			completed++
			if len(w.got) != len(exp) {
				t.Errorf("%s: completed with %d events, want %d", desc, len(w.got), len(exp))
			}
		}
		if n := prefixLen(w.got, exp); n != len(w.got) {
			t.Errorf("%s: event %d is %q, want %q (history after its start: %d events)",
				desc, n, w.got[n], at(exp, n), len(exp))
		}
		t.Logf("%s: %d of %d events, err=%v closed=%v", desc, len(w.got), len(exp), w.err, w.closed)
	}
	if expired == 0 || completed == 0 {
		t.Errorf("vacuous run: %d expired, %d completed, %d closed early; want at least one expired and one completed",
			expired, completed, closed)
	}
}

func prefixLen(got, want []string) int {
	for i := range got {
		if i >= len(want) || got[i] != want[i] {
			return i
		}
	}
	return len(got)
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<end of history>"
}

// randomWriter does one random write at a time on the test's goroutine:
// it reads the object from the cache at RV "0" (possibly stale), writes
// with that RV as precondition, and on a conflict re-reads consistently and
// retries.
type randomWriter struct {
	t         *testing.T
	c         *cacher.Cacher
	rng       *rand.Rand
	ticks     *ticker
	done      chan struct{} // closed by finish: the slow watchers stop pausing
	doneOnce  sync.Once
	gen       int
	writes    int
	conflicts int
}

func (w *randomWriter) finish() { w.doneOnce.Do(func() { close(w.done) }) }

func (w *randomWriter) body(ns, name, node, rv string) []byte {
	w.gen++
	return testkit.Pod{Namespace: ns, Name: name, Node: node, Gen: w.gen, ResourceVersion: rv}.JSON()
}

// write does one successful write and returns its RV.
func (w *randomWriter) write() uint64 {
	w.t.Helper()
	ctx := context.Background()
	ns := randomNamespaces[w.rng.IntN(len(randomNamespaces))]
	name := fmt.Sprintf("p%d", w.rng.IntN(randomKeys))
	rv := "0"
	for attempt := 0; ; attempt++ {
		if attempt == 20 {
			w.t.Fatalf("write %s/%s: still conflicting after %d attempts", ns, name, attempt)
		}
		node := randomNodes[w.rng.IntN(len(randomNodes))]
		cur, err := w.c.Get(ctx, ns, name, api.GetOptions{ResourceVersion: rv})
		rv = "" // a retry reads consistently
		var out *api.Object
		switch {
		case errors.Is(err, api.ErrNotFound):
			out, err = w.c.Create(ctx, ns, w.body(ns, name, node, ""))
		case err != nil:
			w.t.Fatalf("read %s/%s: %v", ns, name, err)
		case w.rng.IntN(100) < 15:
			out, err = w.c.Delete(ctx, ns, name, api.Preconditions{ResourceVersion: ptrTo(api.FormatRV(cur.RV))})
		default:
			out, err = w.c.Update(ctx, ns, name, w.body(ns, name, node, api.FormatRV(cur.RV)))
		}
		if errors.Is(err, api.ErrConflict) || errors.Is(err, api.ErrNotFound) || errors.Is(err, api.ErrAlreadyExists) {
			w.conflicts++ // the cache's copy was stale: re-read and retry
			continue
		}
		if err != nil {
			w.t.Fatalf("write %s/%s: %v", ns, name, err)
		}
		w.writes++
		if w.writes%randomTick == 0 {
			w.ticks.tick()
		}
		return out.RV
	}
}

func (w *randomWriter) create(ns, name, node string) uint64 {
	w.t.Helper()
	o, err := w.c.Create(context.Background(), ns, w.body(ns, name, node, ""))
	if err != nil {
		w.t.Fatalf("create %s/%s: %v", ns, name, err)
	}
	return o.RV
}

func ptrTo[T any](v T) *T { return &v }

// ticker broadcasts "N more writes happened" by closing a channel. Safe for
// concurrent use.
type ticker struct {
	mu sync.Mutex
	ch chan struct{} // guarded by mu; closed and replaced by tick
}

func newTicker() *ticker { return &ticker{ch: make(chan struct{})} }

// next returns a channel closed at the next tick.
func (k *ticker) next() <-chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.ch
}

func (k *ticker) tick() {
	k.mu.Lock()
	defer k.mu.Unlock()
	close(k.ch)
	k.ch = make(chan struct{})
}

// randomWatcher is one watch stream and what it received. run owns every
// field until done is closed; the test reads them after that.
type randomWatcher struct {
	id         int
	f          filter
	from       uint64
	slow       bool // reads burst events, then waits for the writer's next tick
	burst      int
	closeAfter int // > 0: Close after this many events
	fence      podState
	w          api.Watcher

	got    []string
	err    error
	closed bool
	done   chan struct{}
}

func startRandomWatcher(t *testing.T, c *cacher.Cacher, res *api.Resource, rng *rand.Rand, id int, from uint64) *randomWatcher {
	t.Helper()
	w := &randomWatcher{id: id, from: from, done: make(chan struct{})}
	switch id % 4 {
	case 1, 3:
		w.f.node = randomNodes[rng.IntN(len(randomNodes))]
	case 2:
		w.f.ns = randomNamespaces[rng.IntN(len(randomNamespaces))]
	}
	switch id % 3 {
	case 1:
		w.slow, w.burst = true, 1+rng.IntN(3)
	case 2:
		w.closeAfter = 1 + rng.IntN(150)
	}
	for _, f := range randomFences {
		if w.f.matches(&f) {
			w.fence = f
		}
	}
	var err error
	w.w, err = c.Watch(context.Background(), w.f.options(t, res, from))
	if err != nil {
		t.Fatalf("watcher %d: %v", id, err)
	}
	t.Cleanup(w.w.Close)
	return w
}

func (w *randomWatcher) run(ticks *ticker, writerDone <-chan struct{}) {
	defer close(w.done)
	pausing, inBurst := w.slow, 0
	for {
		if w.closeAfter > 0 && len(w.got) == w.closeAfter {
			w.w.Close() // Next after Close is checked by the conformance suite (B44)
			w.closed = true
			return
		}
		if pausing && inBurst == w.burst {
			inBurst = 0
			select {
			case <-ticks.next():
			case <-writerDone:
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ev, err := w.w.Next(ctx)
		cancel()
		if err != nil {
			w.err = err
			return
		}
		w.got = append(w.got, renderEvent(ev))
		inBurst++
		if ev.Type == api.Added && ev.Object.Namespace == w.fence.ns && ev.Object.Name == w.fence.name {
			return
		}
		select {
		case <-writerDone:
			pausing = false // nothing more to wait for: catch up
		default:
		}
	}
}
