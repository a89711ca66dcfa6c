package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// stats counts things by name. Safe for concurrent use.
type stats struct {
	mu sync.Mutex
	n  map[string]int // guarded by mu
}

func newStats() *stats { return &stats{n: map[string]int{}} }

func (s *stats) add(name string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[name] += n
}

func (s *stats) get(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[name]
}

// lines are "name: count" sorted by name, for names with the prefix.
func (s *stats) lines(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k, v := range s.n {
		if strings.HasPrefix(k, prefix) {
			out = append(out, fmt.Sprintf("%s: %d", k, v))
		}
	}
	sort.Strings(out)
	return out
}

// injector injects one fault at a time at random points and heals it
// before the next. It runs on one goroutine and owns rng.
type injector struct {
	c       *etcdtest.Cluster
	proxies []*proxy
	d       *daemon
	direct  *clientv3.Client
	hist    *history
	rng     *rand.Rand
	st      *stats
	logf    func(format string, args ...any)
	errs    []string // harness failures (a member that would not restart, ...)
	compact int64    // the last compaction revision
}

var faultKinds = []string{"kill member", "kill leader", "restart etcd cluster", "proxy black-hole", "proxy stall",
	"proxy delay", "proxy reset", "compact random", "compact behind cache", "restart watchcached"}

// run injects faults until ctx ends, then leaves everything healed. The
// kinds come in rounds, each a random permutation of all kinds, so that a
// short run still injects every kind.
func (in *injector) run(ctx context.Context) {
	var round []string
	for {
		sleep(ctx, time.Duration(300+in.rng.IntN(1500))*time.Millisecond)
		if ctx.Err() != nil {
			return
		}
		if len(round) == 0 {
			round = append([]string(nil), faultKinds...)
			in.rng.Shuffle(len(round), func(i, j int) { round[i], round[j] = round[j], round[i] })
		}
		kind := round[0]
		round = round[1:]
		start := time.Now()
		detail, err := in.inject(ctx, kind)
		in.st.add("fault "+kind, 1)
		in.logf("fault %s %s (%v)", kind, detail, time.Since(start).Round(time.Millisecond))
		if err != nil {
			in.errs = append(in.errs, fmt.Sprintf("fault %s %s: %v", kind, detail, err))
		}
	}
}

// hold is how long a fault lasts: the duration of the simulated failure.
func (in *injector) hold(ctx context.Context) {
	sleep(ctx, time.Duration(500+in.rng.IntN(2500))*time.Millisecond)
}

func (in *injector) inject(ctx context.Context, kind string) (string, error) {
	i := in.rng.IntN(in.c.Size())
	switch kind {
	case "kill member", "kill leader":
		if kind == "kill leader" {
			if i = in.c.Leader(); i < 0 {
				return "(no leader)", nil
			}
		}
		in.proxies[i].reset() // the member's connections die with it
		in.c.Kill(i)
		in.hold(ctx)
		return fmt.Sprintf("m%d", i), in.c.Restart(i)
	case "restart etcd cluster":
		for _, p := range in.proxies {
			p.reset()
		}
		return "", in.c.RestartAll()
	case "proxy black-hole", "proxy stall":
		mode := map[string]proxyMode{"proxy black-hole": modeBlackhole, "proxy stall": modeStall}[kind]
		in.proxies[i].set(mode, 0)
		in.hold(ctx)
		in.proxies[i].set(modePass, 0)
		return fmt.Sprintf("m%d", i), nil
	case "proxy delay":
		d := time.Duration(20+in.rng.IntN(300)) * time.Millisecond
		in.proxies[i].set(modeDelay, d)
		in.hold(ctx)
		in.proxies[i].set(modePass, 0)
		return fmt.Sprintf("m%d by %v", i, d), nil
	case "proxy reset":
		in.proxies[i].reset()
		return fmt.Sprintf("m%d", i), nil
	case "compact random", "compact behind cache":
		return in.compactAt(ctx, kind == "compact behind cache")
	case "restart watchcached":
		return "", in.d.restart(ctx)
	}
	return "", fmt.Errorf("unknown fault %q", kind)
}

// compactAt compacts etcd at a random revision after the last compaction,
// or right behind the cache's revision, but never at or above the
// reference history's last revision minus one (so that the reference can
// always resume).
func (in *injector) compactAt(ctx context.Context, behindCache bool) (string, error) {
	top := int64(in.hist.lastRev()) - 1
	rev := in.compact + 1 + in.rng.Int64N(max(top-in.compact, 1))
	if behindCache {
		rv, _, end, detail := (&httpFrontend{base: in.d.httpBase(), hc: http.DefaultClient}).listAny(ctx)
		if end != endClean {
			return "(cache unreachable: " + detail + ")", nil
		}
		rev = int64(rv) - in.rng.Int64N(4)
	}
	rev = min(rev, top)
	if rev <= in.compact {
		return fmt.Sprintf("(nothing to compact at %d)", rev), nil
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := in.direct.Compact(cctx, rev); err != nil {
		return fmt.Sprintf("at %d: %v", rev, err), nil // a fault elsewhere may fail it
	}
	in.compact = rev
	return fmt.Sprintf("at %d", rev), nil
}

// listAny is a LIST of configmaps at resourceVersion=0, limit 1: the
// cache's current RV.
func (h *httpFrontend) listAny(ctx context.Context) (uint64, []*obj, endKind, string) {
	return h.listQuery(ctx, filter{res: configmaps.name}, url.Values{"resourceVersion": {"0"}, "limit": {"1"}})
}
