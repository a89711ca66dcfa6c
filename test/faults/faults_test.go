package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"

	"github.com/watchcached/watchcached/api/client"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
	"github.com/watchcached/watchcached/internal/testkit"
)

// TestMain checks for leaked goroutines, waiting a bounded time for the
// connection goroutines of the stopped etcd members and watchcached to end.
func TestMain(m *testing.M) { testkit.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// runConfig is a run's knobs, from the environment.
type runConfig struct {
	seed      uint64
	duration  time.Duration // of the fault phase
	singleKey bool          // only single-key writes (diagnosis: no multi-event revisions)
	watchers  int
	writers   int
}

func loadRunConfig(t *testing.T) runConfig {
	c := runConfig{seed: 1, duration: 60 * time.Second, watchers: 30, writers: 3}
	if s := os.Getenv("FAULTS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("FAULTS_SEED=%q: %v", s, err)
		}
		c.seed = v
	}
	if s := os.Getenv("FAULTS_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("FAULTS_DURATION=%q: %v", s, err)
		}
		c.duration = d
	}
	if s := os.Getenv("FAULTS_WATCHERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("FAULTS_WATCHERS=%q: want a positive number", s)
		}
		c.watchers = n
	}
	c.singleKey = os.Getenv("FAULTS_SINGLE_KEY") == "1"
	return c
}

// TestFaults runs watchcached on a 3-member etcd behind fault-injecting
// proxies, with random writers (multi-key transactions, prefix deletes and
// lease expiries unless FAULTS_SINGLE_KEY=1) and many HTTP and gRPC
// watchers, injects faults for FAULTS_DURATION (default 60 s), then checks
// every watcher's streams and lists, and a final consistent LIST of each
// resource, against etcd's own history. FAULTS_SEED reproduces a run.
func TestFaults(t *testing.T) {
	rc := loadRunConfig(t)
	t.Logf("seed %d (rerun with FAULTS_SEED=%d), faults for %v, %d watchers, single-key writes only: %v",
		rc.seed, rc.seed, rc.duration, rc.watchers, rc.singleKey)
	rng := rand.New(rand.NewPCG(rc.seed, rc.seed^0x9e3779b97f4a7c15))
	st := newStats()

	cluster := etcdtest.StartCluster(t, 3)
	var proxies []*proxy
	var upstream []string
	for i := range cluster.Size() {
		p, err := newProxy(cluster.Member(i).ClientURL[len("http://"):])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.close() })
		proxies = append(proxies, p)
		upstream = append(upstream, p.URL())
	}
	direct := cluster.NewClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	hist, err := startHistory(ctx, cluster.NewClient(t))
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(ctx, upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.close(); err != nil {
			t.Errorf("close watchcached: %v", err)
		}
	})

	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	watchers := startWatchers(t, ctx, rc, rng, d, hc, st)

	writeCtx, stopWriters := context.WithCancel(ctx)
	var writersDone sync.WaitGroup
	var gens atomic.Int64
	for i := range rc.writers {
		w := &writer{cl: direct, rng: rand.New(rand.NewPCG(rc.seed+uint64(i)+1, 7)), gens: &gens, singleKey: rc.singleKey,
			base: d.httpBase(), st: st}
		writersDone.Go(func() { w.run(writeCtx) })
	}

	in := &injector{c: cluster, proxies: proxies, d: d, direct: direct, hist: hist, rng: rng, st: st, logf: t.Logf}
	faultCtx, stopFaults := context.WithTimeout(ctx, rc.duration)
	in.run(faultCtx)
	stopFaults()
	for _, e := range in.errs {
		t.Errorf("harness: %s", e)
	}

	// Quiet: writers go on briefly without faults, then stop; leases expire.
	sleep(ctx, 2*time.Second)
	stopWriters()
	writersDone.Wait()
	fence := quiesce(t, direct, &gens)
	if err := hist.waitFor(fence, 60*time.Second); err != nil {
		t.Fatalf("reference history: %v", err)
	}
	events := hist.snapshot()
	violations := waitComplete(t, watchers, events, 30*time.Second)
	violations = append(violations, finalLists(t, ctx, d, direct, hist, events)...)
	cancel()
	for _, w := range watchers {
		<-w.done
	}
	violations = append(violations, checkWatchers(t, hist, events, watchers, st)...)
	summary(t, st, events, violations)
}

// quiesce waits until no lease is left (every lease expiry happened), then
// writes a fence object and returns its revision: the end of the history.
func quiesce(t *testing.T, cl *clientv3.Client, gens *atomic.Int64) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		l, err := cl.Leases(ctx)
		cancel()
		if err == nil && len(l.Leases) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leases still live after 30 s: %v, %v", l, err)
		}
		time.Sleep(100 * time.Millisecond) // poll
	}
	o := &obj{res: configmaps.name, ns: "ns-0", name: "zz-fence", color: "red", gen: gens.Add(1)}
	resp, err := cl.Put(context.Background(), etcdKey(o), o.value())
	if err != nil {
		t.Fatalf("fence: %v", err)
	}
	return uint64(resp.Header.Revision)
}

// startWatchers starts rc.watchers watchers, alternating HTTP and gRPC,
// over both resources, with and without selectors, every fifth slow.
func startWatchers(t *testing.T, ctx context.Context, rc runConfig, rng *rand.Rand, d *daemon, hc *http.Client, st *stats) []*watcher {
	t.Helper()
	var ws []*watcher
	for i := range rc.watchers {
		f := filter{res: resources[i%2].name}
		switch i / 2 % 5 {
		case 1:
			f.ns = namespaces[rng.IntN(len(namespaces))]
		case 2:
			f.color = colors[rng.IntN(len(colors))]
		case 3:
			if f.res == pods.name {
				f.node = nodes[rng.IntN(len(nodes))]
			} else {
				f.notNS = namespaces[rng.IntN(len(namespaces))]
			}
		case 4:
			f.ns, f.color = namespaces[rng.IntN(len(namespaces))], colors[rng.IntN(len(colors))]
		}
		var fe frontend = &httpFrontend{base: d.httpBase(), hc: hc}
		if i%4 >= 2 {
			c, err := client.Dial(d.grpcAddr())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			fe = &grpcFrontend{c: c}
		}
		w := &watcher{id: i, f: f, fe: fe, slow: i%5 == 4, rng: rand.New(rand.NewPCG(rc.seed, uint64(i))), st: st,
			done: make(chan struct{})}
		ws = append(ws, w)
		go w.run(ctx)
	}
	return ws
}

// waitComplete waits until every watcher has received every event up to
// the end of the history; a watcher that has not after d is a violation
// (it lost events for good, or stalled).
func waitComplete(t *testing.T, ws []*watcher, events []refEvent, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		var missing []string
		for _, w := range ws {
			if got, want, ok := progress(w, events); !ok {
				missing = append(missing, fmt.Sprintf("%s: received %d of %d expected events of its current epoch", w, got, want))
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			for i := range missing {
				missing[i] = "incomplete after the faults stopped: " + missing[i]
			}
			return missing
		}
		time.Sleep(100 * time.Millisecond) // poll
	}
}

// finalLists checks a consistent LIST of each resource against etcd's
// state at the list's RV, read with a Get at that revision.
func finalLists(t *testing.T, ctx context.Context, d *daemon, cl *clientv3.Client, h *history, events []refEvent) []string {
	var out []string
	fe := &httpFrontend{base: d.httpBase(), hc: http.DefaultClient}
	defer http.DefaultClient.CloseIdleConnections()
	for _, r := range resources {
		f := filter{res: r.name}
		rv, items, end, detail := fe.list(ctx, f)
		if end != endClean {
			out = append(out, fmt.Sprintf("final LIST of %s: %s", r.name, detail))
			continue
		}
		resp, err := cl.Get(ctx, r.prefix(), clientv3.WithPrefix(), clientv3.WithRev(int64(rv)))
		if err != nil {
			t.Fatalf("etcd Get at %d: %v", rv, err)
		}
		state := map[string]*obj{}
		var inEtcd []*obj
		for _, kv := range resp.Kvs {
			o, err := decodeObj(r.name, kv.Value)
			if err != nil {
				t.Fatal(err)
			}
			state[o.key()] = o
			inEtcd = append(inEtcd, o)
		}
		if v := checkList(state, items, f, rv); v != "" {
			out = append(out, "final "+v)
		}
		if v := checkList(h.stateAt(events, rv), inEtcd, f, rv); v != "" {
			t.Errorf("harness: the reference history disagrees with etcd's Get at the list's RV: %s", v)
		}
		t.Logf("final LIST of %s at RV %d: %d items", r.name, rv, len(items))
	}
	return out
}

// checkWatchers checks every epoch of every watcher and returns the
// violations.
func checkWatchers(t *testing.T, h *history, events []refEvent, ws []*watcher, st *stats) []string {
	var out []string
	for _, w := range ws {
		w.mu.Lock()
		for _, b := range w.bad {
			out = append(out, fmt.Sprintf("%s: %s", w, b))
		}
		var got int
		for n, ep := range w.eps {
			checked, v := checkEpoch(h, events, ep, w.f)
			got += checked
			st.add("checked items received (events and bookmarks)", len(ep.items))
			st.add("checked events verified before a violation", checked)
			st.add("checked events lost", lost(events, ep, w.f))
			st.add("checked lists", 1)
			if v != "" {
				out = append(out, fmt.Sprintf("%s epoch %d: %s", w, n, v))
			}
		}
		t.Logf("%s: %d epochs, %d events verified", w, len(w.eps), got)
		w.mu.Unlock()
	}
	return out
}

func summary(t *testing.T, st *stats, events []refEvent, violations []string) {
	revs := map[uint64]int{}
	for _, e := range events {
		revs[e.rev]++
	}
	multi := 0
	for _, n := range revs {
		if n > 1 {
			multi++
		}
	}
	t.Logf("etcd history: %d events in %d revisions, %d revisions with several events", len(events), len(revs), multi)
	for _, prefix := range []string{"fault ", "write ", "client ", "checked "} {
		for _, l := range st.lines(prefix) {
			t.Log(l)
		}
	}
	kinds := map[string]int{}
	for _, v := range violations {
		kinds[violationKind(v)]++
	}
	for k, n := range kinds {
		t.Logf("violations of kind %s: %d", k, n)
	}
	for i, v := range violations {
		if i == 50 {
			t.Errorf("... and %d more violations", len(violations)-50)
			break
		}
		t.Errorf("violation: %s", v)
	}
	t.Logf("violations: %d", len(violations))
}

// violationKind is the category of a violation, for the summary.
func violationKind(v string) string {
	for _, k := range []string{"incomplete", "final LIST", "LIST", "gap", "duplicate", "BOOKMARK", "backwards",
		"beyond etcd's history", "not in etcd's history"} {
		if strings.Contains(v, k) {
			return k
		}
	}
	return "unexpected end or error"
}
