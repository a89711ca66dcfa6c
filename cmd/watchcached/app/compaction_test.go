package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

func parseCompactionFlags(t *testing.T, cfg *Config, args ...string) error {
	t.Helper()
	fs := pflag.NewFlagSet("watchcached", pflag.ContinueOnError)
	fs.SetOutput(&strings.Builder{})
	cfg.AddCompactionFlags(fs)
	return fs.Parse(args)
}

// TestCompactionFlags_Defaults: without flags the embedded etcd is
// compacted every 5m with a 2 GiB quota and an external etcd is not
// compacted; given flags are honoured, with an external etcd too.
func TestCompactionFlags_Defaults(t *testing.T) {
	for _, c := range []struct {
		name     string
		external bool
		args     []string
		interval time.Duration
		quota    int64
	}{
		{"Embedded", false, nil, 5 * time.Minute, 2 << 30},
		{"External", true, nil, 0, 2 << 30},
		{"EmbeddedSet", false, []string{"--etcd-compaction-interval=90s", "--embedded-etcd-quota-bytes=1048576"}, 90 * time.Second, 1 << 20},
		{"EmbeddedOff", false, []string{"--etcd-compaction-interval", "0"}, 0, 2 << 30},
		{"ExternalSet", true, []string{"--etcd-compaction-interval=10m"}, 10 * time.Minute, 2 << 30},
		{"QuotaZeroIsDefault", false, []string{"--embedded-etcd-quota-bytes=0"}, 5 * time.Minute, 2 << 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if c.external {
				cfg.EtcdServers = []string{"http://127.0.0.1:2379"}
			}
			if err := parseCompactionFlags(t, &cfg, c.args...); err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := cfg.CompactionInterval(); got != c.interval {
				t.Errorf("interval %v, want %v", got, c.interval)
			}
			if got := cfg.EmbeddedQuotaBytes(); got != c.quota {
				t.Errorf("quota %d, want %d", got, c.quota)
			}
		})
	}
}

func TestCompactionFlags_Errors(t *testing.T) {
	for _, c := range []struct {
		name     string
		external bool
		args     []string
		want     string
	}{
		{"IntervalNotDuration", false, []string{"--etcd-compaction-interval=5"},
			`invalid argument "5" for "--etcd-compaction-interval" flag: time: missing unit in duration "5"`},
		{"IntervalNegative", false, []string{"--etcd-compaction-interval=-1m"},
			`--etcd-compaction-interval -1m0s: must be 0 (off) or at least 1s`},
		{"IntervalTooShort", false, []string{"--etcd-compaction-interval=10ms"},
			`--etcd-compaction-interval 10ms: must be 0 (off) or at least 1s`},
		{"QuotaNotNumber", false, []string{"--embedded-etcd-quota-bytes=2GiB"},
			`invalid argument "2GiB" for "--embedded-etcd-quota-bytes" flag: strconv.ParseInt: parsing "2GiB": invalid syntax`},
		{"QuotaNegative", false, []string{"--embedded-etcd-quota-bytes=-1"},
			`--embedded-etcd-quota-bytes -1: must not be negative (0 means the default, 2147483648)`},
		{"QuotaWithExternal", true, []string{"--embedded-etcd-quota-bytes=1048576"},
			`--embedded-etcd-quota-bytes: only applies to the embedded etcd (no --etcd-servers)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if c.external {
				cfg.EtcdServers = []string{"http://127.0.0.1:2379"}
			}
			err := parseCompactionFlags(t, &cfg, c.args...)
			if err == nil {
				err = cfg.Validate()
			}
			if err == nil || err.Error() != c.want {
				t.Errorf("got %v\nwant %s", err, c.want)
			}
		})
	}
}

// metricsText is the daemon's /metrics page.
func metricsText(t *testing.T, d *Daemon) string {
	t.Helper()
	code, body := httpDo(t, http.MethodGet, "http://"+d.HTTPAddr+"/metrics", "")
	if code != 200 {
		t.Fatalf("metrics: %d %s", code, body)
	}
	return body
}

// TestDaemon_CompactsEmbeddedEtcd: the daemon compacts its embedded etcd
// every interval: after two intervals the first revisions are gone and the
// compaction is counted.
func TestDaemon_CompactsEmbeddedEtcd(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cfg := testConfig(t)
	interval := time.Second
	cfg.EtcdCompactionInterval = &interval
	d, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	c := etcdClient(t, d)
	defer c.Close()
	// The first round (after 1s) records a revision, the second (after 2s)
	// compacts to it.
	for !strings.Contains(metricsText(t, d), "\nwatchcached_etcd_compactions_total 1\n") {
		if ctx.Err() != nil {
			t.Fatalf("no compaction within 60s at a 1s interval:\n%s", metricsText(t, d))
		}
		time.Sleep(50 * time.Millisecond) // poll
	}
	if _, err := c.Get(ctx, "/registry/configmaps/default/x", clientv3.WithRev(1)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Errorf("get at revision 1: %v, want %v", err, rpctypes.ErrCompacted)
	}
	resp, err := c.Get(ctx, etcdstore.CompactRevKey)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("%s: %v %v", etcdstore.CompactRevKey, resp, err)
	}
	if m := metricsText(t, d); !strings.Contains(m, "\nwatchcached_etcd_compacted_revision "+string(resp.Kvs[0].Value)+"\n") {
		t.Errorf("metrics lack watchcached_etcd_compacted_revision %s:\n%s", resp.Kvs[0].Value, m)
	} // Every cache learned the compaction from the compactor itself.
	if m := metricsText(t, d); !strings.Contains(m, `watchcached_cache_etcd_compacted_revision{resource="configmaps"} `+string(resp.Kvs[0].Value)+"\n") {
		t.Errorf("the configmaps cache did not observe the compaction at %s:\n%s", resp.Kvs[0].Value, m)
	}
}

// TestDaemon_ExternalEtcdNotCompacted: with --etcd-servers and no
// --etcd-compaction-interval the daemon runs no compactor.
func TestDaemon_ExternalEtcdNotCompacted(t *testing.T) {
	etcd := etcdtest.Start(t)
	cfg := testConfig(t)
	cfg.EtcdServers, cfg.DataDir = []string{etcd.Endpoint}, ""
	cfg.Resources = DefaultResources()[:1]
	d, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	if d.stopCompactor != nil {
		t.Error("a compactor runs against the external etcd")
	}
	if m := metricsText(t, d); strings.Contains(m, "watchcached_etcd_compactions_total") {
		t.Errorf("compaction metrics with an external etcd:\n%s", m)
	}
}

// TestDaemon_EmbeddedEtcdQuota: the embedded etcd refuses writes past
// --embedded-etcd-quota-bytes with etcd's NOSPACE. etcd checks the quota
// against its last committed size (it commits every 100ms), so the test
// waits for each write to be committed before the next.
func TestDaemon_EmbeddedEtcdQuota(t *testing.T) {
	cfg := testConfig(t)
	cfg.EmbeddedEtcdQuotaBytes = 1 << 20
	cfg.Resources = DefaultResources()[:1]
	d, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	c := etcdClient(t, d)
	defer c.Close()
	val := strings.Repeat("x", 256<<10)
	for i := range 8 {
		before := dbInUse(t, c, d)
		_, err := c.Put(t.Context(), fmt.Sprintf("/quota/%d", i), val)
		if errors.Is(err, rpctypes.ErrNoSpace) {
			if i < 2 || i > 4 {
				t.Errorf("NOSPACE after %d writes of 256 KiB (database %d bytes in use), want it after 2 to 4 with a 1 MiB quota", i, before)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); dbInUse(t, c, d) == before; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("write not committed within 10s")
			}
		}
	}
	t.Fatal("8 writes of 256 KiB fit in a 1 MiB quota")
}

func dbInUse(t *testing.T, c *clientv3.Client, d *Daemon) int64 {
	t.Helper()
	st, err := c.Status(t.Context(), d.EtcdEndpoints[0])
	if err != nil {
		t.Fatal(err)
	}
	return st.DbSizeInUse
}

// TestDaemon_CompactedHook: each compaction is handed to every storage
// that observes compactions, and to no other.
func TestDaemon_CompactedHook(t *testing.T) {
	a, b := &observer{}, &observer{}
	d := &Daemon{storages: []api.Storage{a, plainStorage{}, b}}
	d.compacted(7)
	d.compacted(9)
	for _, o := range []*observer{a, b} {
		if fmt.Sprint(o.revs) != "[7 9]" {
			t.Errorf("observed %v, want [7 9]", o.revs)
		}
	}
}

// plainStorage is an api.Storage that does not observe compactions; no
// method of it is called.
type plainStorage struct{ api.Storage }

type observer struct {
	plainStorage
	revs []uint64
}

func (o *observer) ObserveCompaction(rev uint64) { o.revs = append(o.revs, rev) }

// etcdClient is a client of the daemon's etcd; close it before the daemon.
func etcdClient(t *testing.T, d *Daemon) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: d.EtcdEndpoints, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
