package app

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/server"
	"github.com/watchcached/watchcached/upstream"
)

// Following an upstream API server (--upstream-kubeconfig or
// --upstream-in-cluster): every configured resource's source is the
// upstream (package upstream) instead of etcd, no etcd is started or
// dialled, the upstream's discovery decides each resource's kind and
// scope, writes are forwarded to it and reads with ?cache=false are
// proxied to it. See docs/upstream.md.

// DefaultUpstreamConsistentReadTimeout is how long a consistent read waits
// for the cache to reach the upstream's current revision before the read
// is forwarded to the upstream.
const DefaultUpstreamConsistentReadTimeout = time.Second

// DefaultUpstreamMaxCacheLag is /readyz's lag bound following an
// upstream: an idle resource's cache reaches the upstream's revision only
// at the upstream's bookmarks (about once a minute from kube-apiserver),
// as no progress can be requested.
const DefaultUpstreamMaxCacheLag = 3 * time.Minute

// maxCacheLag is /readyz's lag bound in effect: the configured one, else
// the default of the source followed.
func (c *Config) maxCacheLag() time.Duration {
	switch {
	case c.ReadyzMaxCacheLag != 0:
		return c.ReadyzMaxCacheLag
	case c.UpstreamMode():
		return DefaultUpstreamMaxCacheLag
	}
	return cacher.DefaultMaxCacheLag
}

// AddUpstreamFlags registers the upstream flags on fs, filling c when fs
// is parsed.
func (c *Config) AddUpstreamFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.UpstreamKubeconfig, "upstream-kubeconfig", c.UpstreamKubeconfig,
		"kubeconfig of a kube-apiserver to follow instead of etcd: every configured resource is listed and watched from it, writes are forwarded to it")
	fs.BoolVar(&c.UpstreamInCluster, "upstream-in-cluster", c.UpstreamInCluster,
		"follow the kube-apiserver of the cluster this runs in (its service account), as --upstream-kubeconfig does")
	fs.DurationVar(&c.UpstreamConsistentReadTimeout, "upstream-consistent-read-timeout", c.UpstreamConsistentReadTimeout,
		"how long a consistent read waits for the cache to reach the upstream's current revision before it is forwarded to the upstream (default 1s)")
	fs.StringVar(&c.UpstreamWatchList, "upstream-watch-list", c.UpstreamWatchList,
		"how caches list the upstream: auto (a WatchList, else paged LISTs), on or off (default auto)")
}

// UpstreamMode reports whether the daemon follows an upstream API server.
func (c *Config) UpstreamMode() bool { return c.UpstreamKubeconfig != "" || c.UpstreamInCluster }

// validateUpstream checks the upstream flags against the etcd ones.
func (c *Config) validateUpstream() error {
	if !c.UpstreamMode() {
		if c.UpstreamConsistentReadTimeout != 0 || c.UpstreamWatchList != "" {
			return errors.New("--upstream-consistent-read-timeout, --upstream-watch-list: only apply with --upstream-kubeconfig or --upstream-in-cluster")
		}
		return nil
	}
	switch {
	case c.UpstreamKubeconfig != "" && c.UpstreamInCluster:
		return errors.New("--upstream-kubeconfig and --upstream-in-cluster: give one or the other")
	case len(c.EtcdServers) > 0 || c.EmbeddedEtcdURL != "" || c.EtcdCompactionInterval != nil || c.EmbeddedEtcdQuotaBytes != 0:
		return errors.New("--etcd-servers, --embedded-etcd-listen, --etcd-compaction-interval, --embedded-etcd-quota-bytes: do not apply when following an upstream (no etcd is used)")
	case c.ForwardKubeconfig != "":
		return errors.New("--forward-kubeconfig: writes go to the upstream when following one; leave it out")
	case c.ServeCRDs != nil && *c.ServeCRDs:
		return errors.New("--serve-crds: custom resources are read from etcd, which is not used when following an upstream; configure them in --resources")
	case c.WriteMode != "" && c.WriteMode != server.WriteModeForward && c.WriteMode != server.WriteModeReject:
		return fmt.Errorf("--write-mode=%s: when following an upstream, writes are forwarded to it (forward) or refused (reject)", c.WriteMode)
	case c.UpstreamConsistentReadTimeout < 0:
		return fmt.Errorf("--upstream-consistent-read-timeout %v: must not be negative", c.UpstreamConsistentReadTimeout)
	}
	switch c.UpstreamWatchList {
	case "", "auto", upstream.WatchListOn, upstream.WatchListOff:
	default:
		return fmt.Errorf("--upstream-watch-list %q: want auto, on or off", c.UpstreamWatchList)
	}
	if c.UpstreamKubeconfig != "" {
		if _, err := os.Stat(c.UpstreamKubeconfig); err != nil {
			return fmt.Errorf("--upstream-kubeconfig: %w", err)
		}
	}
	return nil
}

// upstreamREST is how to reach the upstream, as client-go reads a
// kubeconfig or the in-cluster service account.
func (c *Config) upstreamREST() (*rest.Config, error) {
	if c.UpstreamInCluster {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("--upstream-in-cluster: %w", err)
		}
		return rc, nil
	}
	rc, err := clientcmd.BuildConfigFromFlags("", c.UpstreamKubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--upstream-kubeconfig: %w", err)
	}
	return rc, nil
}

// upstreamWritePolicy forwards writes to the upstream (with the caller
// impersonated when authentication is on), or refuses them.
func upstreamWritePolicy(mode string, rc *rest.Config, hc *http.Client) (server.WritePolicy, error) {
	p := server.WritePolicy{Mode: mode, ForwardTransport: hc.Transport}
	var err error
	if p.ForwardURL, _, err = rest.DefaultServerUrlFor(rc); err != nil {
		return p, fmt.Errorf("upstream: %w", err)
	}
	return p, nil
}

// startUpstream builds one upstream-fed storage per resource, after the
// upstream's discovery has checked and completed the resources.
func (d *Daemon) startUpstream() error {
	rc, err := d.cfg.upstreamREST()
	if err != nil {
		return err
	}
	d.upstreamREST = rc
	// One client for everything sent to the upstream (discovery, every
	// source, forwarded requests), its connections closed at Close.
	t, err := rest.TransportFor(rc)
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	d.upstreamHTTP = &http.Client{Transport: t, Timeout: rc.Timeout}
	d.closers = append(d.closers, func() error { d.upstreamHTTP.CloseIdleConnections(); return nil })
	resources, warnings, err := upstream.Discover(rc, d.upstreamHTTP, d.resources)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		d.log.Warn("upstream discovery: "+w, "upstream", rc.Host)
	}
	d.resources = resources
	for _, res := range d.resources {
		st, err := d.newUpstreamStorage(rc, res)
		if err != nil {
			return fmt.Errorf("resource %s: %w", res.GroupResource(), err)
		}
		d.storages = append(d.storages, st)
	}
	return nil
}

// newUpstreamStorage is the cache of res fed by the upstream (or the
// upstream source itself when the cache is off for res).
func (d *Daemon) newUpstreamStorage(rc *rest.Config, res *api.Resource) (api.Storage, error) {
	wl := d.cfg.UpstreamWatchList
	if wl == "auto" {
		wl = upstream.WatchListAuto
	}
	src, err := upstream.New(upstream.Config{REST: rc, Resource: res, Prefix: d.cfg.EtcdPrefix, WatchList: wl,
		Logger: d.log, HTTPClient: d.upstreamHTTP})
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, src.Close)
	if d.revisionSource == nil {
		d.revisionSource = src
	}
	if !d.cfg.WatchCache || !res.CacheEnabled() {
		return src, nil
	}
	if d.cacheMetrics == nil {
		d.cacheMetrics = cacher.NewMetrics(d.registry)
	}
	timeout := d.cfg.UpstreamConsistentReadTimeout
	if timeout == 0 {
		timeout = DefaultUpstreamConsistentReadTimeout
	}
	c, err := cacher.New(cacher.Config{
		Source:           src,
		FreshnessTimeout: timeout,
		// An API server tells no compacted revision; 410s teach it.
		CompactionPollInterval: -1,
		Logger:                 d.log,
		Metrics:                d.cacheMetrics,
	})
	if err != nil {
		return nil, err
	}
	c.Start()
	d.closers = append(d.closers, func() error { c.Close(); return nil })
	d.cachers = append(d.cachers, c)
	return c, nil
}
