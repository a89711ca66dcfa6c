package e2e

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
	"github.com/watchcached/watchcached/internal/testkit"
)

// startUpstreamOn starts an upstream daemon on the external etcd at
// endpoints, listening on listen ("127.0.0.1:0" for a free port), and
// waits until it is ready. The caller closes it (Close is idempotent; a
// cleanup closes it too).
func startUpstreamOn(t *testing.T, listen string, endpoints []string) *env {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.Listen = listen
	cfg.GRPCListen = ""
	cfg.EtcdServers = endpoints
	cfg.DataDir = t.TempDir() // snapshots (warm restart) go here, not into the source tree
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Resources = append(app.DefaultResources(), widgetsResource())
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	d, err := app.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("app.Start (upstream): %v", err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	if err := d.WaitReady(ctx); err != nil {
		t.Fatalf("upstream WaitReady: %v", err)
	}
	return newEnv(t, d, "http://"+d.HTTPAddr, endpoints)
}

// TestUpstream_B172_CompactedRestartRelists: the upstream goes away,
// etcd changes and is compacted meanwhile, and the upstream comes back on
// the same address with a history that no longer reaches the follower's
// RV. The follower's resumed watch gets 410, and it relists once: its
// open watches end with 410 (never a gap), and its state is the
// upstream's.
func TestUpstream_B172_CompactedRestartRelists(t *testing.T) {
	etcd := etcdtest.StartCluster(t, 1)
	up := startUpstreamOn(t, "127.0.0.1:0", etcd.Endpoints())
	addr := up.d.HTTPAddr
	up.do(t, http.MethodPost, "/api/v1/namespaces/gone/configmaps", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`)
	f := startFollower(t, up.url)
	code, _, body := f.do(t, http.MethodGet, "/api/v1/namespaces/gone/configmaps", "")
	if code != http.StatusOK {
		t.Fatalf("follower list: %d %s", code, body)
	}
	fw := watchFrom(t, f.url, "gone", rvOf(t, body))
	relists := f.metric(t, "watchcached_cache_relists_total", `resource="configmaps"`)

	if err := up.d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	cli := etcd.NewClient(t)
	if _, err := cli.Put(ctx, "/registry/configmaps/gone/b", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b","namespace":"gone","uid":"b-uid"}}`); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Delete(ctx, "/registry/configmaps/gone/a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}

	up2 := startUpstreamOn(t, addr, etcd.Endpoints())
	_, err = testkit.NextErr(t, fw, 1)
	if !errors.Is(err, api.ErrExpired) {
		t.Fatalf("follower watch across the relist ended with %v, want 410 Expired", err)
	}
	waitFor(t, "the follower's relist", func() bool {
		return f.metric(t, "watchcached_cache_relists_total", `resource="configmaps"`) == relists+1
	}, func() string { return "no relist" })
	_, _, upList := up2.do(t, http.MethodGet, "/api/v1/namespaces/gone/configmaps", "")
	_, _, fList := f.do(t, http.MethodGet, "/api/v1/namespaces/gone/configmaps", "")
	if upList != fList {
		t.Errorf("follower list after the relist:\n%s\nupstream list:\n%s", fList, upList)
	}
}

// TestUpstream_B173_UpstreamAwayAndBack: the upstream stops and starts
// again on the same address and etcd. The follower keeps serving from its
// cache meanwhile, resumes its watch from its last RV without a relist,
// and a watch on the follower opened before the outage sees the writes
// made after it, with no gap and no error.
func TestUpstream_B173_UpstreamAwayAndBack(t *testing.T) {
	etcd := etcdtest.StartCluster(t, 1)
	up := startUpstreamOn(t, "127.0.0.1:0", etcd.Endpoints())
	addr := up.d.HTTPAddr
	f := startFollower(t, up.url)
	churnConfigMaps(t, up, "back", 2)
	code, _, body := f.do(t, http.MethodGet, "/api/v1/namespaces/back/configmaps", "")
	if code != http.StatusOK {
		t.Fatalf("follower list: %d %s", code, body)
	}
	fw := watchFrom(t, f.url, "back", rvOf(t, body))
	relists := f.metric(t, "watchcached_cache_relists_total", `resource="configmaps"`)

	if err := up.d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Served from the cache while the upstream is away.
	if code, _, body := f.do(t, http.MethodGet, "/api/v1/namespaces/back/configmaps/cm-00?resourceVersion=0", ""); code != http.StatusOK {
		t.Errorf("follower get while the upstream is away: %d %s", code, body)
	}
	up2 := startUpstreamOn(t, addr, etcd.Endpoints())
	cm, err := up2.cs.CoreV1().ConfigMaps("back").Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delRV := up2.deleteRV(t, "/api/v1/namespaces/back/configmaps/cm-00")
	testkit.Equal(t, "follower watch across the outage", testkit.Next(t, fw, 2),
		[]string{"ADDED back/late@" + cm.ResourceVersion, "DELETED back/cm-00@" + delRV})
	if n := f.metric(t, "watchcached_cache_relists_total", `resource="configmaps"`); n != relists {
		t.Errorf("follower relists: %d, want %d (the watch resumed)", n, relists)
	}
}
