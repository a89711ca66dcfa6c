package interval

import (
	"context"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
	"go.uber.org/goleak"
)

var seedFlag = flag.Uint64("seed", 0, "seed of the property test (0: from $INTERVAL_SEED or the clock)")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func propertySeed(t *testing.T) uint64 {
	seed := *seedFlag
	if s := os.Getenv("INTERVAL_SEED"); seed == 0 && s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("INTERVAL_SEED: %v", err)
		}
		seed = v
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -seed=%d or INTERVAL_SEED=%d)", seed, seed, seed)
	return seed
}

// B41/B43 property: one writer applies random revisions (a third of the
// events share their revision with another) to a small ring that grows,
// shrinks and evicts (and relists once); readers open intervals at random
// RVs and must see exactly the writer's events after their start RV, in
// order, or that sequence cut short by the expired error. Bounded time.
func TestIntervalProperty_NoGapUnlessExpired_B41_B43(t *testing.T) {
	seed := propertySeed(t)
	delivered.Store(0)
	expiredMid.Store(0)
	refused.Store(0)
	firstDelivery = make(chan struct{})
	firstOnce = sync.Once{}
	const nEvents, nReaders = 4000, 8
	all := revisionEvents(seed, nEvents, 200, 100)
	revs := revisions(all)
	relistAt := len(revs) / 2
	w := newCache(t, watchcache.Config{MinCapacity: 16, MaxCapacity: 256, Window: time.Second}, 100)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, nReaders)
	for r := range nReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- readRandom(ctx, w, all, seed+uint64(r)+1)
		}()
	}
	now := t0
	minCap, maxCap := 1<<30, 0
	for i, rev := range revs {
		if i == relistAt { // relist at the RV we have reached: history restarts there
			w.Replace(nil, revs[i-1][0].RV, now)
		}
		if i == len(revs)/4 { // on a loaded machine, let the readers start first
			select {
			case <-firstDelivery:
			case <-ctx.Done():
			}
		}
		if (i/300)%2 == 1 { // alternate bursts (the ring grows) and slow phases (it shrinks)
			now = now.Add(time.Duration(rev[0].RV%7) * 100 * time.Millisecond)
		}
		if err := w.Apply(rev, now); err != nil {
			t.Fatal(err)
		}
		c := w.Stats().RingCap
		minCap, maxCap = min(minCap, c), max(maxCap, c)
	}
	wg.Wait()
	close(errs)
	t.Logf("delivered %d events, %d intervals expired mid-way, %d refused at start",
		delivered.Load(), expiredMid.Load(), refused.Load())
	t.Logf("ring capacity ranged over [%d, %d]", minCap, maxCap)
	if minCap != 16 || maxCap != 256 {
		t.Errorf("the ring did not both grow to 256 and shrink to 16: [%d, %d]", minCap, maxCap)
	}
	if delivered.Load() == 0 {
		t.Error("no reader received any event")
	}
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// Counters of what the readers saw, to show the test exercised each path.
var delivered, expiredMid, refused atomic.Int64

// firstDelivery is closed when a reader first receives an event.
var (
	firstDelivery chan struct{}
	firstOnce     sync.Once
)

// readRandom opens intervals at random RVs until the writer is done, and
// checks each against the expected sequence.
func readRandom(ctx context.Context, w *watchcache.WatchCache, all []*api.Event, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	last := all[len(all)-1].RV
	for w.RV() < last {
		from := w.RV() - min(w.RV(), uint64(rng.IntN(300))) + uint64(rng.IntN(5))
		it, err := New(w, from)
		if errors.Is(err, api.ErrExpired) {
			refused.Add(1)
			continue
		}
		if err != nil {
			return err
		}
		if err := follow(ctx, w, it, all, from, min(last, from+uint64(rng.IntN(400)))); err != nil {
			return err
		}
	}
	return nil
}

// follow reads it until it reaches RV until (or expires), and checks that
// it sees exactly all's events after from.
func follow(ctx context.Context, w *watchcache.WatchCache, it *Interval, all []*api.Event, from, until uint64) error {
	k := 0
	for k < len(all) && all[k].RV <= from {
		k++
	}
	for it.LastRV() < until && k < len(all) && all[k].RV <= until {
		changed := w.Changed()
		ev, err := it.Next()
		if ierr := it.checkInvariants(); ierr != nil {
			return ierr
		}
		switch {
		case errors.Is(err, api.ErrExpired):
			expiredMid.Add(1)
			return nil
		case err != nil:
			return err
		case ev == nil:
			select {
			case <-changed:
			case <-ctx.Done():
				return errors.New("reader timed out waiting for events")
			}
		case ev != all[k]:
			return errors.New("interval from " + strconv.FormatUint(from, 10) + ": got RV " +
				strconv.FormatUint(ev.RV, 10) + ", want " + strconv.FormatUint(all[k].RV, 10))
		default:
			k++
			delivered.Add(1)
			firstOnce.Do(func() { close(firstDelivery) })
		}
	}
	return nil
}
