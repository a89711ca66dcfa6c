package app

import (
	"testing"
	"time"
)

// TestUpstreamFlags_Validate: the upstream flags against each other and
// against the etcd and write flags, each problem named by its flag; the
// defaults that change when following an upstream.
func TestUpstreamFlags_Validate(t *testing.T) {
	kc := writeTemp(t, "kubeconfig", "apiVersion: v1\nkind: Config\n")
	sec := time.Second
	for _, c := range []struct {
		name   string
		mutate func(*Config)
		err    string
	}{
		{"Kubeconfig", func(c *Config) { c.UpstreamKubeconfig = kc }, ""},
		{"InCluster", func(c *Config) { c.UpstreamInCluster = true; c.DataDir = "" }, ""},
		{"Both", func(c *Config) { c.UpstreamKubeconfig, c.UpstreamInCluster = kc, true },
			"--upstream-kubeconfig and --upstream-in-cluster: give one or the other"},
		{"Missing", func(c *Config) { c.UpstreamKubeconfig = kc + ".missing" },
			"--upstream-kubeconfig: stat " + kc + ".missing: no such file or directory"},
		{"EtcdServers", func(c *Config) { c.UpstreamKubeconfig, c.EtcdServers = kc, []string{"http://127.0.0.1:2379"} },
			"--etcd-servers, --embedded-etcd-listen, --etcd-compaction-interval, --embedded-etcd-quota-bytes: do not apply when following an upstream (no etcd is used)"},
		{"Compaction", func(c *Config) { c.UpstreamKubeconfig, c.EtcdCompactionInterval = kc, &sec },
			"--etcd-servers, --embedded-etcd-listen, --etcd-compaction-interval, --embedded-etcd-quota-bytes: do not apply when following an upstream (no etcd is used)"},
		{"ForwardKubeconfig", func(c *Config) { c.UpstreamKubeconfig, c.ForwardKubeconfig = kc, kc },
			"--forward-kubeconfig: writes go to the upstream when following one; leave it out"},
		{"WriteModeEtcd", func(c *Config) { c.UpstreamKubeconfig, c.WriteMode = kc, "etcd" },
			"--write-mode=etcd: when following an upstream, writes are forwarded to it (forward) or refused (reject)"},
		{"WriteModeReject", func(c *Config) { c.UpstreamKubeconfig, c.WriteMode = kc, "reject" }, ""},
		{"WatchList", func(c *Config) { c.UpstreamKubeconfig, c.UpstreamWatchList = kc, "sometimes" },
			`--upstream-watch-list "sometimes": want auto, on or off`},
		{"NegativeTimeout", func(c *Config) { c.UpstreamKubeconfig, c.UpstreamConsistentReadTimeout = kc, -sec },
			"--upstream-consistent-read-timeout -1s: must not be negative"},
		{"TimeoutWithoutUpstream", func(c *Config) { c.UpstreamConsistentReadTimeout = sec },
			"--upstream-consistent-read-timeout, --upstream-watch-list: only apply with --upstream-kubeconfig or --upstream-in-cluster"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t)
			c.mutate(&cfg)
			if err := cfg.Validate(); errString(err) != c.err {
				t.Fatalf("Validate: %v, want %q", err, c.err)
			}
		})
	}
	cfg := testConfig(t)
	cfg.UpstreamKubeconfig = kc
	if m, lag, comp := cfg.EffectiveWriteMode(), cfg.maxCacheLag(), cfg.CompactionInterval(); m != "forward" || lag != 3*time.Minute || comp != 0 {
		t.Errorf("following an upstream: write mode %s, readyz lag %v, compaction %v; want forward, 3m, 0", m, lag, comp)
	}
	cfg = testConfig(t)
	if lag := cfg.maxCacheLag(); lag != 10*time.Second {
		t.Errorf("following etcd: readyz lag %v, want 10s", lag)
	}
}
