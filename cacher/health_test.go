package cacher

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// logBuffer collects log lines without their time, for exact comparison.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer // guarded by mu
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns the lines logged since the last take.
func (b *logBuffer) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSuffix(b.buf.String(), "\n")
	b.buf.Reset()
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}

// healthEnv is an env with a Health over its cacher, driven by hand (no
// Run) on a fake clock.
type healthEnv struct {
	*env
	h     *Health
	logs  *logBuffer
	reg   *prometheus.Registry
	clock time.Time
}

func newHealthEnv(t *testing.T, start bool, mut func(*Config), hmut func(*HealthConfig)) *healthEnv {
	logs := &logBuffer{}
	e := newEnv(t, false, func(c *Config) {
		c.Logger = logs.logger()
		if mut != nil {
			mut(c)
		}
	})
	he := &healthEnv{env: e, logs: logs, reg: prometheus.NewRegistry(), clock: time.Unix(1_000_000, 0)}
	cfg := HealthConfig{Store: e.store, Cachers: []*Cacher{e.c}, Timeout: 300 * time.Millisecond,
		Logger: logs.logger(), Registerer: he.reg}
	if hmut != nil {
		hmut(&cfg)
	}
	h, err := NewHealth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.now = func() time.Time { return he.clock }
	he.h = h
	if start {
		e.start()
		logs.take() // the reflector's "cache listed"
	}
	return he
}

// checks runs every check and renders the outcome.
func (he *healthEnv) checks() []string {
	var out []string
	for _, c := range he.h.Checks() {
		if err := c.Check(context.Background()); err != nil {
			out = append(out, fmt.Sprintf("%s: %v", c.Name(), err))
		} else {
			out = append(out, c.Name()+": ok")
		}
	}
	return out
}

// round is one turn of Run: a probe, then the caches' judgement.
func (he *healthEnv) round() {
	he.h.probe(context.Background())
	he.h.judgeCaches()
}

// gauge reads one gauge of the registry by its labels ("k=v" pairs).
func (he *healthEnv) gauge(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := he.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var got []string
			for _, l := range m.GetLabel() {
				got = append(got, l.GetName()+"="+l.GetValue())
			}
			if strings.Join(got, ",") == strings.Join(labels, ",") {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no gauge %s{%s}", name, strings.Join(labels, ","))
	return 0
}

// TestHealth_EtcdLostAndCacheStates: the etcd check follows the probes
// (failing before the first one, while etcd is gone and after Run ends);
// a cache's check fails until its initial list is applied and after
// Close. Each transition is logged once, however often it is probed.
func TestHealth_EtcdLostAndCacheStates(t *testing.T) {
	t.Parallel()
	he := newHealthEnv(t, false, nil, nil)
	testkit.Equal(t, "events", he.checks(), []string{"etcd: etcd not probed yet", "cache:pods: the cache is not ready: (re)listing from etcd"})
	select {
	case <-he.h.Probed():
		t.Fatal("Probed closed before any probe")
	default:
	}

	he.round()
	select {
	case <-he.h.Probed():
	default:
		t.Fatal("Probed not closed after the first probe")
	}
	rev, err := he.store.CurrentRevision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	testkit.Equal(t, "events", he.logs.take(), []string{fmt.Sprintf(`level=INFO msg="etcd reachable" revision=%d`, rev)})
	testkit.Equal(t, "events", he.checks(), []string{"etcd: ok", "cache:pods: the cache is not ready: (re)listing from etcd"})
	if up := he.gauge(t, "watchcached_healthcheck", "name=cache:pods", "type=readyz"); up != 0 {
		t.Errorf("cache:pods gauge %v while listing", up)
	}

	he.start()
	he.logs.take()
	he.round()
	he.round()
	testkit.Equal(t, "events", he.logs.take(), []string{fmt.Sprintf(`level=INFO msg="cache ready" resource=pods rv=%d`, he.c.RV())})
	testkit.Equal(t, "events", he.checks(), []string{"etcd: ok", "cache:pods: ok"})
	for _, name := range []string{"etcd", "cache:pods"} {
		if up := he.gauge(t, "watchcached_healthcheck", "name="+name, "type=readyz"); up != 1 {
			t.Errorf("%s gauge %v, want 1", name, up)
		}
	}
	if got := he.gauge(t, "watchcached_etcd_current_revision"); got != float64(rev) {
		t.Errorf("etcd revision gauge %v, want %d", got, rev)
	}

	he.etcd.Stop()
	he.round()
	he.round()
	const lost = "etcd request timed out: context deadline exceeded"
	testkit.Equal(t, "events", he.logs.take(), []string{`level=WARN msg="etcd unreachable; /readyz fails" err="` + lost + `"`})
	testkit.Equal(t, "events", he.checks(), []string{"etcd: " + lost, "cache:pods: ok"})
	errIs(t, he.h.Checks()[0].Check(context.Background()), api.ErrTimeout, lost)
	if up := he.gauge(t, "watchcached_healthcheck", "name=etcd", "type=readyz"); up != 0 {
		t.Errorf("etcd gauge %v while etcd is gone", up)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	he.h.Run(ctx)
	he.c.Close()
	testkit.Equal(t, "events", he.checks(), []string{"etcd: the etcd health probe stopped", "cache:pods: the cache is stopped"})
}

// TestHealth_EtcdRegained: after etcd comes back (here: a probe against a
// running etcd after failed ones), the etcd check passes again and the
// outage's length is logged once.
func TestHealth_EtcdRegained(t *testing.T) {
	t.Parallel()
	he := newHealthEnv(t, true, nil, nil)
	he.round()
	he.logs.take()
	// A probe that times out at once stands for a lost etcd.
	he.h.cfg.Timeout = time.Nanosecond
	he.round()
	he.clock = he.clock.Add(42 * time.Second)
	he.round()
	he.h.cfg.Timeout = 5 * time.Second
	he.clock = he.clock.Add(3 * time.Second)
	he.round()
	rev, _ := he.store.CurrentRevision(context.Background())
	testkit.Equal(t, "events", he.logs.take(), []string{
		`level=WARN msg="etcd unreachable; /readyz fails" err="etcd request timed out: context deadline exceeded"`,
		fmt.Sprintf(`level=INFO msg="etcd reachable again" revision=%d unreachableFor=45s`, rev),
	})
	testkit.Equal(t, "events", he.checks(), []string{"etcd: ok", "cache:pods: ok"})
}

// TestHealth_CacheLag: a ready cache that has not held etcd's current
// revision for longer than MaxCacheLag fails its check, with both
// revisions in the reason, and passes again once it caught up. The pods
// cache is idle (progress every hour) while another resource's key moves
// etcd's revision; the clock is fake.
func TestHealth_CacheLag(t *testing.T) {
	t.Parallel()
	he := newHealthEnv(t, true, func(c *Config) { c.ProgressInterval = time.Hour },
		func(h *HealthConfig) { h.MaxCacheLag = 2 * time.Hour })
	a := he.create("default", "a", "n1")
	he.waitRV(a.RV)
	he.round()
	he.logs.take()
	resp, err := he.etcd.Client.Put(context.Background(), "/registry/configmaps/default/x", "{}")
	if err != nil {
		t.Fatal(err)
	}
	etcdRev := uint64(resp.Header.Revision)

	he.clock = he.clock.Add(time.Hour)
	he.round() // learns etcdRev; the cache was last known current an hour ago
	testkit.Equal(t, "events", he.checks(), []string{"etcd: ok", "cache:pods: ok"})
	if lag := he.gauge(t, "watchcached_cache_lag_seconds", "resource=pods"); lag != 3600 {
		t.Errorf("lag gauge %v, want 3600", lag)
	}
	he.clock = he.clock.Add(time.Hour + time.Second)
	he.round()
	he.round()
	reason := fmt.Sprintf("the cache has lagged etcd for 2h0m1s, more than the 2h0m0s allowed (cache at revision %d, etcd at %d)", a.RV, etcdRev)
	testkit.Equal(t, "events", he.checks(), []string{"etcd: ok", "cache:pods: " + reason})
	testkit.Equal(t, "events", he.logs.take(), []string{`level=WARN msg="cache lagging behind etcd; /readyz fails" resource=pods err="` + reason + `"`})
	if up := he.gauge(t, "watchcached_healthcheck", "name=cache:pods", "type=readyz"); up != 0 {
		t.Errorf("cache:pods gauge %v while lagging", up)
	}

	if err := he.store.RequestProgress(context.Background()); err != nil {
		t.Fatal(err)
	}
	he.waitRV(etcdRev)
	he.round()
	testkit.Equal(t, "events", he.checks(), []string{"etcd: ok", "cache:pods: ok"})
	testkit.Equal(t, "events", he.logs.take(), []string{fmt.Sprintf(`level=INFO msg="cache caught up with etcd" resource=pods rv=%d`, he.c.RV())})
	if lag := he.gauge(t, "watchcached_cache_lag_seconds", "resource=pods"); lag != 0 {
		t.Errorf("lag gauge %v after catching up", lag)
	}
}

// TestHealthConfig_Validate: the lag bound must exceed the caches'
// progress interval.
func TestHealthConfig_Validate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, func(c *Config) { c.ProgressInterval = 5 * time.Second })
	_, err := NewHealth(HealthConfig{Store: e.store, Cachers: []*Cacher{e.c}, MaxCacheLag: 5 * time.Second})
	const want = "cacher: the maximum cache lag 5s must exceed the progress interval 5s of pods, or an idle cache would look lagging"
	if err == nil || err.Error() != want {
		t.Fatalf("NewHealth: %v, want %s", err, want)
	}
	if _, err := NewHealth(HealthConfig{Store: e.store, Cachers: []*Cacher{e.c}, MaxCacheLag: -1}); err != nil {
		t.Fatalf("NewHealth with the lag check disabled: %v", err)
	}
	if _, err := NewHealth(HealthConfig{Cachers: []*Cacher{e.c}}); err == nil || err.Error() != "cacher: HealthConfig.Store is required" {
		t.Fatalf("NewHealth without a store: %v", err)
	}
}

// TestRevisionSamples: the lag of a cache at a revision, across new,
// repeated and restarted revisions, pruning and the cap.
func TestRevisionSamples(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	var r revisionSamples
	if r.lag(5, at(100)) != 0 || r.newest() != 0 {
		t.Fatal("empty samples give a lag")
	}
	r.add(10, at(0))
	r.add(10, at(5)) // etcd idle: still 10 at 5 s
	r.add(20, at(6))
	r.add(30, at(7))
	for _, tc := range []struct {
		rv   uint64
		now  int
		want time.Duration
	}{
		{30, 9, 0},               // holds the newest
		{35, 9, 0},               // ahead of the probes
		{20, 9, 3 * time.Second}, // last known current at 6 s
		{25, 9, 3 * time.Second}, // between samples: holds 20
		{10, 9, 4 * time.Second}, // 10 was current until 5 s
		{9, 9, 9 * time.Second},  // behind every sample: since the oldest was first seen
		{10, 4, 0 * time.Second}, // a clock behind the samples gives no negative lag
	} {
		if got := r.lag(tc.rv, at(tc.now)); got != tc.want {
			t.Errorf("lag(%d) at %ds = %v, want %v", tc.rv, tc.now, got, tc.want)
		}
	}
	r.prune(25)
	if len(r.s) != 2 || r.s[0].rev != 20 || r.lag(25, at(9)) != 3*time.Second {
		t.Fatalf("after prune(25): %+v", r.s)
	}
	r.add(5, at(10)) // a restored etcd: the history restarts
	if len(r.s) != 1 || r.newest() != 5 || r.lag(5, at(11)) != 0 {
		t.Fatalf("after a lower revision: %+v", r.s)
	}
	for i := range 2 * maxRevisionSamples {
		r.add(uint64(6+i), at(11+i))
	}
	n := len(r.s)
	if n != maxRevisionSamples || r.s[n-1].rev != uint64(5+2*maxRevisionSamples) || r.s[n-1].first != at(11+maxRevisionSamples-2) {
		t.Fatalf("at the cap: %d samples, newest %+v", n, r.s[n-1])
	}
	// The merged newest sample never makes a lag look shorter.
	if got := r.lag(uint64(5+maxRevisionSamples+10), at(1000)); got != at(1000).Sub(r.s[n-2].last) {
		t.Fatalf("lag within the merged sample %v", got)
	}
}
