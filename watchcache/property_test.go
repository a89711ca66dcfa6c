package watchcache

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"go.uber.org/goleak"
)

var seedFlag = flag.Uint64("seed", 0, "seed of the property test (0: from $WATCHCACHE_SEED or the clock)")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func propertySeed(t *testing.T) uint64 {
	seed := *seedFlag
	if s := os.Getenv("WATCHCACHE_SEED"); seed == 0 && s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("WATCHCACHE_SEED: %v", err)
		}
		seed = v
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -seed=%d or WATCHCACHE_SEED=%d)", seed, seed, seed)
	return seed
}

// fingerprint renders objects as "key@RV " in order.
func fingerprint(objs []*api.Object) string {
	var b strings.Builder
	for _, o := range objs {
		fmt.Fprintf(&b, "%s@%d ", o.Key, o.RV)
	}
	return b.String()
}

// B13/B14 property: while one writer applies random revisions (a third of
// them several events at one RV, as etcd transactions make; with Compact
// now and then), readers ask for the state at random RVs and must get
// exactly the model's state at that RV, or the expired error below the
// floor, and the same objects of one node from AscendIndex (an index
// walk at the newest checkpoint, a scan before it, B256); Latest always
// matches some state at or after what the reader saw.
func TestSnapshotProperty_ConcurrentReadsMatchModel_B13(t *testing.T) {
	seed := propertySeed(t)
	m := newModel(seed, 150, 100)
	const n = 3000
	states := map[uint64]string{100: ""}
	rvs := []uint64{100}
	var revisions [][]*api.Event // a third of them several events at one RV
	for range n {
		evs := m.nextRevision(1 + 3*int(m.rng.IntN(3)/2))
		revisions = append(revisions, evs)
		states[m.rv] = fingerprint(m.sorted(""))
		rvs = append(rvs, m.rv)
	}
	w := mustNew(t, Config{MinCapacity: 32, MaxCapacity: 512, Window: time.Second, CheckpointEvery: 1 + int(seed%16),
		IndexedFields: []string{"spec.nodeName"}})
	w.Replace(nil, 100, t0)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- readStates(ctx, w, states, rvs, seed+uint64(r))
		}()
	}
	now := t0
	for i, evs := range revisions {
		now = now.Add(time.Duration(i%5) * 100 * time.Millisecond)
		if err := w.Apply(evs, now); err != nil {
			t.Fatal(err)
		}
		if i%97 == 0 {
			w.Compact(evs[0].RV - 20)
		}
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := w.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

func readStates(ctx context.Context, w *WatchCache, states map[uint64]string, rvs []uint64, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 3))
	for reads := 0; ctx.Err() == nil || reads < 50; reads++ {
		cur := w.RV()
		rv := cur - min(cur-100, uint64(rng.IntN(200)))
		s, err := w.Snapshot(rv)
		if err != nil {
			if fl := w.Stats().OldestSnapshotRV; rv >= fl {
				return fmt.Errorf("Snapshot(%d) with floor %d: %v", rv, fl, err)
			}
			continue
		}
		want, ok := states[s.RV()]
		if !ok || s.RV() > rv || (s.RV() < rv && nextRV(rvs, s.RV()) <= rv) {
			return fmt.Errorf("Snapshot(%d) has RV %d", rv, s.RV())
		}
		all := collect(s, "", "")
		if got := fingerprint(all); got != want {
			return fmt.Errorf("Snapshot(%d): state differs from the model", rv)
		}
		// B256: through the index (latest) or a scan (past), the same objects.
		var onNode []*api.Object
		s.AscendIndex("spec.nodeName", "node1", "", "", func(o *api.Object) bool { onNode = append(onNode, o); return true })
		if got, want := fingerprint(onNode), fingerprint(filter(all, func(o *api.Object) bool { return o.Field("spec.nodeName") == "node1" })); got != want {
			return fmt.Errorf("Snapshot(%d) at %d: node1 holds %s, want %s", rv, s.RV(), got, want)
		}
	}
	return nil
}

// nextRV returns the first event RV after rv, or the maximum.
func nextRV(rvs []uint64, rv uint64) uint64 {
	for _, r := range rvs {
		if r > rv {
			return r
		}
	}
	return ^uint64(0)
}
