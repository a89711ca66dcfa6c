package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig_Valid(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.GRPCListen != "127.0.0.1:8081" || cfg.DataDir != "./watchcached-data" ||
		cfg.EtcdPrefix != "/registry" || !cfg.WatchCache {
		t.Errorf("defaults %+v", cfg)
	}
	if err := checkResources(DefaultResources(), "/registry"); err != nil {
		t.Errorf("default resources: %v", err)
	}
}

func TestConfig_ValidateErrors(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(cert, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"ListenNoPort", func(c *Config) { c.Listen = "127.0.0.1" }, `--listen "127.0.0.1": address 127.0.0.1: missing port in address`},
		{"ListenBadPort", func(c *Config) { c.Listen = "127.0.0.1:http8" }, `--listen "127.0.0.1:http8": port must be a number from 0 to 65535`},
		{"ListenPortTooLarge", func(c *Config) { c.Listen = ":70000" }, `--listen ":70000": port must be a number from 0 to 65535`},
		{"GRPCBad", func(c *Config) { c.GRPCListen = "nowhere" }, `--grpc-listen "nowhere": address nowhere: missing port in address`},
		{"EtcdNotURL", func(c *Config) { c.EtcdServers = []string{"127.0.0.1:2379"} }, `--etcd-servers: "127.0.0.1:2379" is not an http:// or https:// URL`},
		{"EtcdMixedSchemes", func(c *Config) { c.EtcdServers = []string{"http://a:2379", "https://b:2379"} },
			`--etcd-servers: mixes http:// and https:// URLs; use one scheme for all`},
		{"TLSWithHTTP", func(c *Config) {
			c.EtcdServers = []string{"http://etcd:2379"}
			c.EtcdCAFile = cert
		}, `--etcd-cafile/--etcd-certfile/--etcd-keyfile: TLS needs https:// URLs in --etcd-servers`},
		{"NoDataDir", func(c *Config) { c.DataDir = "" }, `--data-dir: required for the embedded etcd (no --etcd-servers given)`},
		{"WarmIntervalShort", func(c *Config) { c.WarmRestartInterval = 500 * time.Millisecond },
			`--warm-restart-interval 500ms: must be at least 1s, or negative (only at shutdown)`},
		{"TLSWithoutServers", func(c *Config) { c.EtcdCAFile = cert }, `--etcd-cafile/--etcd-certfile/--etcd-keyfile: only apply with --etcd-servers`},
		{"CertWithoutKey", func(c *Config) {
			c.EtcdServers = []string{"https://etcd:2379"}
			c.EtcdCertFile = cert
		}, `--etcd-certfile and --etcd-keyfile: give both or neither`},
		{"MissingCA", func(c *Config) {
			c.EtcdServers = []string{"https://etcd:2379"}
			c.EtcdCAFile = filepath.Join(dir, "nope.pem")
		}, `--etcd-cafile: stat ` + filepath.Join(dir, "nope.pem") + `: no such file or directory`},
		{"KeyIsDir", func(c *Config) {
			c.EtcdServers = []string{"https://etcd:2379"}
			c.EtcdCertFile, c.EtcdKeyFile = cert, dir
		}, `--etcd-keyfile: ` + dir + ` is a directory`},
		{"EmbeddedURLWithServers", func(c *Config) {
			c.EtcdServers = []string{"http://etcd:2379"}
			c.EmbeddedEtcdURL = "http://127.0.0.1:2379"
		}, `--embedded-etcd-listen: only applies to the embedded etcd (no --etcd-servers)`},
		{"EmbeddedURLNotLoopback", func(c *Config) { c.EmbeddedEtcdURL = "http://0.0.0.0:2379" },
			`--embedded-etcd-listen: "http://0.0.0.0:2379" is not an http:// URL on a loopback address`},
		{"PrefixRelative", func(c *Config) { c.EtcdPrefix = "registry" }, `--etcd-prefix "registry": must start with '/' and contain no empty segment`},
		{"BothResources", func(c *Config) {
			c.ResourcesFile = "r.yaml"
			c.Resources = DefaultResources()
		}, `--resources: both a resources file and built-in resources are configured`},
		{"ReadyzLagBelowProgress", func(c *Config) { c.ReadyzMaxCacheLag = 5 * time.Second },
			`--readyz-max-cache-lag 5s: must exceed the caches' progress interval 5s (an idle cache catches up only then), or be negative to disable the lag check`},
		{"EtcdHealthcheckTimeoutNegative", func(c *Config) { c.EtcdHealthcheckTimeout = -time.Second },
			`--etcd-healthcheck-timeout -1s: must not be negative`},
		{"DuplicateResources", func(c *Config) { c.Resources = append(DefaultResources(), DefaultResources()[0]) },
			`entry 8: resource "pods" already configured by entry 1`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.mutate(&cfg)
			err := cfg.Validate()
			if err == nil || err.Error() != c.want {
				t.Errorf("got %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestLoadResources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `
- version: v1
  resource: pods
  kind: Pod
  namespaced: true
  selectableFields: [spec.nodeName]
  indexedFields: [spec.nodeName]
- group: example.com
  version: v1alpha1
  resource: widgets
  kind: Widget
  namespaced: false
  keyPrefix: example.com/widgets
  cache: false
`)
	list, err := LoadResources(good, "/registry")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].GroupResource() != "pods" || list[0].IndexedFields[0] != "spec.nodeName" ||
		list[1].GroupVersion() != "example.com/v1alpha1" || list[1].Namespaced || list[1].CacheEnabled() ||
		list[1].Prefix("/registry") != "/registry/example.com/widgets/" {
		t.Errorf("loaded %+v %+v", list[0], list[1])
	}

	for _, c := range []struct{ name, text, want string }{
		{"Empty", ``, "no resources configured"},
		{"NotAList", `version: v1`, "cannot unmarshal"},
		{"UnknownField", "- version: v1\n  resource: pods\n  kind: Pod\n  plural: pods\n", `unknown field "plural"`},
		{"BadKind", "- version: v1\n  resource: pods\n  kind: pod\n", `entry 1: resource "pods": invalid kind "pod"`},
		{"IndexNotSelectable", "- version: v1\n  resource: pods\n  kind: Pod\n  indexedFields: [spec.x]\n",
			`entry 1: resource "pods": indexed field "spec.x" is not selectable`},
		{"Duplicate", "- {version: v1, resource: pods, kind: Pod}\n- {version: v2, resource: pods, kind: Pod}\n",
			`entry 2: resource "pods" already configured by entry 1`},
		{"BadYAML", "- version: [\n", "yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadResources(write(c.name+".yaml", c.text), "/registry")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	if _, err := LoadResources(filepath.Join(dir, "missing.yaml"), "/registry"); err == nil || !strings.HasPrefix(err.Error(), "--resources: open ") {
		t.Errorf("missing file: %v", err)
	}
}

// TestStart_WithResourcesFile: a daemon started from a resources file serves
// exactly those resources.
func TestStart_WithResourcesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.yaml")
	if err := os.WriteFile(p, []byte("- {group: example.com, version: v1, resource: widgets, kind: Widget, namespaced: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.ResourcesFile = p
	d, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(t.Context())
	if err := d.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + d.HTTPAddr
	if code, body := httpDo(t, "GET", base+"/apis/example.com/v1/widgets", ""); code != 200 ||
		!strings.HasPrefix(body, `{"kind":"WidgetList","apiVersion":"example.com/v1"`) {
		t.Errorf("widgets: %d %s", code, body)
	}
	if code, _ := httpDo(t, "GET", base+"/api/v1/pods", ""); code != 404 {
		t.Errorf("pods: %d, want 404", code)
	}
}
