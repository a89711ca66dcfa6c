package app

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDaemon_ServesFromCache: by default every resource is served by its
// watch cache (cache metrics per resource, consistent reads from the cache);
// --watch-cache=false serves straight from etcd (no cache metrics).
func TestDaemon_ServesFromCache(t *testing.T) {
	for _, cache := range []bool{true, false} {
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		cfg := testConfig(t)
		cfg.WatchCache = cache
		d, err := Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
		base := "http://" + d.HTTPAddr
		if code, body := httpDo(t, "POST", base+"/api/v1/namespaces/default/pods", `{"metadata":{"name":"a"}}`); code != 201 {
			t.Fatalf("create: %d %s", code, body)
		}
		if code, body := httpDo(t, "GET", base+"/api/v1/namespaces/default/pods", ""); code != 200 || !strings.Contains(body, `"name":"a"`) {
			t.Fatalf("list: %d %s", code, body)
		}
		_, metrics := httpDo(t, "GET", base+"/metrics", "")
		for _, m := range []string{
			`watchcached_cache_objects{resource="pods"} 1`,
			`watchcached_cache_objects{resource="deployments.apps"} 0`,
			`watchcached_consistent_read_revision_requests_total{resource="pods"}`,
		} {
			if strings.Contains(metrics, m) != cache {
				t.Errorf("cache=%v: metric %q present=%v", cache, m, !cache)
			}
		}
		if err := d.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
}
