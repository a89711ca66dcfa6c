package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/internal/testkit"
)

// cacheOf is the daemon's cache of resource.
func cacheOf(t *testing.T, d *Daemon, resource string) *cacher.Cacher {
	t.Helper()
	for _, c := range d.cachers {
		if c.Resource().Resource == resource {
			return c
		}
	}
	t.Fatalf("no cache of %s", resource)
	return nil
}

// B234: the daemon writes every cache's snapshot under
// <data-dir>/snapshots at shutdown and its next start is warm (no list,
// one log line per cache, writes made while it was down served);
// --warm-restart=false starts cold however good the files are.
func TestDaemon_B234_WarmRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cfg := testConfig(t)
	cfg.Resources = DefaultResources()[:2] // pods, configmaps
	d1 := startReady(t, ctx, cfg)
	for i := range 3 {
		body := string(testkit.PodJSON("default", fmt.Sprintf("p%d", i), "n1", nil))
		if code, resp := httpDo(t, "POST", "http://"+d1.HTTPAddr+"/api/v1/namespaces/default/pods", body); code != 201 {
			t.Fatalf("create: %d %s", code, resp)
		}
	}
	if err := d1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"_pods.snap", "_configmaps.snap"} {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "snapshots", name)); err != nil {
			t.Fatalf("shutdown snapshot: %v", err)
		}
	}

	logs := &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	d2 := startReady(t, ctx, cfg)
	if n := cacheOf(t, d2, "pods").Lists() + cacheOf(t, d2, "configmaps").Lists(); n != 0 {
		t.Fatalf("warm start listed %d times", n)
	}
	if got := logs.count("cache started warm"); got != 2 {
		t.Fatalf("%d warm-start lines, want 2:\n%s", got, logs.buf.String())
	}
	if got := logs.count("cache starting cold"); got != 0 {
		t.Fatalf("cold-start lines:\n%s", logs.buf.String())
	}
	code, list := httpDo(t, "GET", "http://"+d2.HTTPAddr+"/api/v1/namespaces/default/pods", "")
	if code != 200 || strings.Count(list, `"kind":"Pod"`) != 3 {
		t.Fatalf("list after warm start: %d %s", code, list)
	}
	_, metrics := httpDo(t, "GET", "http://"+d2.HTTPAddr+"/metrics", "")
	for _, want := range []string{`watchcached_cache_starts_total{resource="pods",start="warm"} 1`,
		`watchcached_cache_starts_total{resource="configmaps",start="warm"} 1`} {
		if !strings.Contains(metrics, want+"\n") {
			t.Fatalf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, `start="cold"`) {
		t.Fatal("a cold start counted")
	}
	if err := d2.Close(ctx); err != nil {
		t.Fatal(err)
	}

	cfg.WarmRestart = false
	logs3 := &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs3, nil))
	d3 := startReady(t, ctx, cfg)
	if n := cacheOf(t, d3, "pods").Lists(); n != 1 || logs3.count("cache started warm") != 0 || logs3.count("cache starting cold") != 0 {
		t.Fatalf("--warm-restart=false: lists %d, log:\n%s", n, logs3.buf.String())
	}
}
