package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// compactorEnv is a compactor on a test etcd, with its metrics and the
// revisions it reported through OnCompact.
type compactorEnv struct {
	t    *testing.T
	etcd *etcdtest.Server
	c    *etcdstore.Compactor
	reg  *prometheus.Registry

	mu       sync.Mutex
	reported []uint64 // guarded by mu
}

func newCompactorEnv(t *testing.T, etcd *etcdtest.Server, interval time.Duration) *compactorEnv {
	return newCompactorEnvTimeout(t, etcd, interval, 0)
}

func newCompactorEnvTimeout(t *testing.T, etcd *etcdtest.Server, interval, timeout time.Duration) *compactorEnv {
	t.Helper()
	if etcd == nil {
		etcd = etcdtest.Start(t)
	}
	e := &compactorEnv{t: t, etcd: etcd, reg: prometheus.NewRegistry()}
	c, err := etcdstore.NewCompactor(etcdstore.CompactorConfig{
		Client: etcd.Client, Interval: interval, RequestTimeout: timeout, Registerer: e.reg,
		Logger: slog.New(slog.DiscardHandler),
		OnCompact: func(rev uint64) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.reported = append(e.reported, rev)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	return e
}

func (e *compactorEnv) round() uint64 {
	e.t.Helper()
	rev, err := e.c.Round(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return rev
}

// metric is the value of the unlabelled counter or gauge name.
func (e *compactorEnv) metric(name string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	e.t.Fatalf("no metric %s", name)
	return 0
}

// recorded is the revision of CompactRevKey's last write: what the
// compactor that wrote it compacts to in its next round.
func recorded(t *testing.T, etcd *etcdtest.Server) uint64 {
	t.Helper()
	resp, err := etcd.Client.Get(context.Background(), etcdstore.CompactRevKey)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %v %v", etcdstore.CompactRevKey, resp, err)
	}
	return uint64(resp.Kvs[0].ModRevision)
}

// churn updates four keys n times in all, from four goroutines, with a
// 512-byte value.
func churn(t *testing.T, c *clientv3.Client, n int) {
	t.Helper()
	val := strings.Repeat("v", 512)
	var wg sync.WaitGroup
	for k := range 4 {
		wg.Go(func() {
			for range n / 4 {
				if _, err := c.Put(context.Background(), fmt.Sprintf("/registry/configmaps/ns/k%d", k), val); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// waitInUse polls etcd's DbSizeInUse until ok accepts it, and fails with
// what after 10 s unless what is "" (then the caller checks).
func waitInUse(t *testing.T, etcd *etcdtest.Server, ok func(int64) bool, what string) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := dbInUse(t, etcd)
		if ok(n) {
			return n
		}
		if time.Now().After(deadline) {
			if what != "" {
				t.Fatalf("%s: still %d bytes after 10s", what, n)
			}
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dbInUse(t *testing.T, etcd *etcdtest.Server) int64 {
	t.Helper()
	st, err := etcd.Client.Status(context.Background(), etcd.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return st.DbSizeInUse
}

// TestCompactor_BoundsHistoryUnderChurn: sustained churn of a few keys grows
// etcd's database without compaction; with a compaction round after each
// interval's worth of churn, the database in use stays below half of what
// half the churn grew it by, every revision before the last interval is
// compacted, and the last interval stays readable.
func TestCompactor_BoundsHistoryUnderChurn(t *testing.T) {
	e := newCompactorEnv(t, nil, time.Hour) // rounds are driven by the test
	const chunk = 500                       // writes per interval
	base := dbInUse(t, e.etcd)
	for range 4 {
		churn(t, e.etcd.Client, chunk)
	}
	// etcd commits its backend every 100ms: wait for the growth to show.
	before := waitInUse(t, e.etcd, func(n int64) bool { return n-base >= 4*chunk*512 },
		fmt.Sprintf("%d writes of 512 bytes to grow the database in use", 4*chunk))
	grown := before - base

	if got := e.round(); got != 0 {
		t.Fatalf("first round compacted to %d, want 0 (it only records)", got)
	}
	var want []uint64
	for range 8 {
		prev := recorded(t, e.etcd)
		churn(t, e.etcd.Client, chunk)
		if got := e.round(); got != prev {
			t.Fatalf("round compacted to %d, want %d (the previous round's revision)", got, prev)
		}
		want = append(want, prev)
	}
	last := want[len(want)-1]
	// etcd removes compacted revisions in the background, and bbolt
	// counts their pages free once a later write commits.
	after := waitInUse(t, e.etcd, func(n int64) bool {
		churn(t, e.etcd.Client, 4)
		return n < base+grown/2 && n < before
	}, "")
	t.Logf("in use: %d before churn, %d after 4x%d writes, %d after 8x%d more with compaction", base, before, chunk, after, chunk)
	if after >= base+grown/2 || after >= before {
		t.Errorf("database in use %d bytes after 8x%d writes with compaction, want below %d (start %d + half of %d) and below %d (before compaction)",
			after, chunk, base+grown/2, base, grown, before)
	}

	ctx := context.Background()
	key := "/registry/configmaps/ns/k0"
	if _, err := e.etcd.Client.Get(ctx, key, clientv3.WithRev(int64(last)-1)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Errorf("get at %d, below the last compaction: %v, want %v", last-1, err, rpctypes.ErrCompacted)
	}
	resp, err := e.etcd.Client.Get(ctx, key, clientv3.WithRev(int64(last)))
	if err != nil || len(resp.Kvs) != 1 {
		t.Errorf("get at %d, the last compaction: %v %v, want the key", last, resp, err)
	}
	// The last interval's history: every update of k0 since the compaction.
	w := e.etcd.Client.Watch(clientv3.WithRequireLeader(ctx), key, clientv3.WithRev(int64(last)+1))
	if ev := <-w; ev.Err() != nil || len(ev.Events) < chunk/4 || ev.CompactRevision != 0 {
		t.Errorf("watch from %d: %d events, err %v, compacted %d; want at least %d events", last+1, len(ev.Events), ev.Err(), ev.CompactRevision, chunk/4)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Equal(e.reported, want) {
		t.Errorf("OnCompact got %v, want %v", e.reported, want)
	}
	if got := e.c.LastCompacted(); got != last {
		t.Errorf("LastCompacted %d, want %d", got, last)
	}
	if got := e.metric("watchcached_etcd_compactions_total"); got != 8 {
		t.Errorf("compactions_total %v, want 8", got)
	}
	if got := e.metric("watchcached_etcd_compacted_revision"); got != float64(last) {
		t.Errorf("compacted_revision %v, want %d", got, last)
	}
	if got := e.metric("watchcached_etcd_compaction_failures_total"); got != 0 {
		t.Errorf("compaction_failures_total %v, want 0", got)
	}
}

// TestCompactor_TakesTurns: two compactors of one etcd compact once per
// round between them, and the survivor takes over when the one holding the
// turn stops.
func TestCompactor_TakesTurns(t *testing.T) {
	a := newCompactorEnv(t, nil, time.Hour)
	b := newCompactorEnv(t, a.etcd, time.Hour)
	if a.round() != 0 || b.round() != 0 {
		t.Fatal("first rounds compacted")
	}
	aRev := recorded(t, a.etcd)
	churn(t, a.etcd.Client, 8)
	if got := a.round(); got != aRev {
		t.Fatalf("a compacted to %d, want %d", got, aRev)
	}
	if got := b.round(); got != 0 {
		t.Fatalf("b compacted to %d, want 0 (a holds the turn)", got)
	}
	// a stops. b wins the next round and compacts to what it saw last.
	bRev, err := b.etcd.Client.Get(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if got := b.round(); got != uint64(bRev.Header.Revision) {
		t.Fatalf("b compacted to %d, want %d (its previous round's revision)", got, bRev.Header.Revision)
	}
	if got := a.metric("watchcached_etcd_compactions_total") + b.metric("watchcached_etcd_compactions_total"); got != 2 {
		t.Errorf("%v compactions, want 2", got)
	}
}

// TestCompactor_Run compacts on its own every interval and returns when
// its context ends.
func TestCompactor_Run(t *testing.T) {
	e := newCompactorEnv(t, nil, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.c.Run(ctx)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for e.c.LastCompacted() == 0 || e.metric("watchcached_etcd_compactions_total") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no two compactions within 10s at a 20ms interval")
		}
		churn(t, e.etcd.Client, 4)
	}
	cancel()
	<-done
	if got := e.metric("watchcached_etcd_compaction_failures_total"); got != 0 {
		t.Errorf("compaction_failures_total %v, want 0", got)
	}
}

// TestCompactor_FailedRound: a round against an unreachable etcd fails
// with the cause and is counted.
func TestCompactor_FailedRound(t *testing.T) {
	e := newCompactorEnvTimeout(t, nil, time.Hour, 200*time.Millisecond)
	e.etcd.Stop()
	_, err := e.c.Round(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "etcd compaction turn: ") {
		t.Fatalf("got %v, want an etcd compaction turn error with %v", err, context.DeadlineExceeded)
	}
	if got := e.metric("watchcached_etcd_compaction_failures_total"); got != 1 {
		t.Errorf("compaction_failures_total %v, want 1", got)
	}
}

func TestCompactorConfig_Validate(t *testing.T) {
	c := etcdtest.Start(t).Client
	for _, tc := range []struct {
		cfg  etcdstore.CompactorConfig
		want string
	}{
		{etcdstore.CompactorConfig{Interval: time.Minute}, "etcdstore: CompactorConfig.Client is required"},
		{etcdstore.CompactorConfig{Client: c}, "etcdstore: compaction interval 0s must be positive"},
		{etcdstore.CompactorConfig{Client: c, Interval: -time.Second}, "etcdstore: compaction interval -1s must be positive"},
		{etcdstore.CompactorConfig{Client: c, Interval: time.Second, RequestTimeout: -1}, "etcdstore: compaction request timeout -1ns must not be negative"},
	} {
		if _, err := etcdstore.NewCompactor(tc.cfg); err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %s", err, tc.want)
		}
	}
}
