package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
	"github.com/watchcached/watchcached/upstream"
)

// watchFrom opens a watch of configmaps in namespace ns from rv on the
// server at url, read through an upstream.Source (its api.Watcher).
func watchFrom(t *testing.T, url, ns, rv string) api.Watcher {
	t.Helper()
	src, err := upstream.New(upstream.Config{REST: &rest.Config{Host: url, QPS: -1},
		Resource: &api.Resource{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	w, err := src.Watch(ctx, api.WatchOptions{Namespace: ns, ResourceVersion: rv})
	if err != nil {
		t.Fatalf("watch %s from %s: %v", url, rv, err)
	}
	t.Cleanup(w.Close)
	return w
}

// churnConfigMaps creates n configmaps in ns on e, updates each twice and
// deletes every other one: 3n + n/2 events, each with the RV of its write.
func churnConfigMaps(t *testing.T, e *env, ns string, n int) []string {
	t.Helper()
	ctx := t.Context()
	cms := e.cs.CoreV1().ConfigMaps(ns)
	var want []string
	for i := range n {
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%02d", i)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("ADDED %s/%s@%s", ns, cm.Name, cm.ResourceVersion))
		for v := range 2 {
			cm.Data = map[string]string{"v": strconv.Itoa(v)}
			if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprintf("MODIFIED %s/%s@%s", ns, cm.Name, cm.ResourceVersion))
		}
		if i%2 == 1 {
			rv := e.deleteRV(t, "/api/v1/namespaces/"+ns+"/configmaps/"+cm.Name)
			want = append(want, fmt.Sprintf("DELETED %s/%s@%s", ns, cm.Name, rv))
		}
	}
	return want
}

// TestUpstream_B171_EveryWriteWithUpstreamRVs: every create, update and
// delete made on the upstream reaches a watch on the follower, in order,
// with exactly the RVs the upstream gave the writes, and the follower's
// watch from an RV equals the upstream's own watch from it.
func TestUpstream_B171_EveryWriteWithUpstreamRVs(t *testing.T) {
	up := startEnv(t)
	f := startFollower(t, up.url)
	code, _, body := up.do(t, http.MethodGet, "/api/v1/namespaces/rv/configmaps", "")
	if code != http.StatusOK {
		t.Fatalf("list: %d %s", code, body)
	}
	from := rvOf(t, body)
	fw := watchFrom(t, f.url, "rv", from)
	uw := watchFrom(t, up.url, "rv", from)
	want := churnConfigMaps(t, up, "rv", 8)
	testkit.Equal(t, "follower watch", testkit.Next(t, fw, len(want)), want)
	testkit.Equal(t, "upstream watch", testkit.Next(t, uw, len(want)), want)

	// A consistent list on the follower shows what the upstream's does.
	_, _, upList := up.do(t, http.MethodGet, "/api/v1/namespaces/rv/configmaps", "")
	_, _, fList := f.do(t, http.MethodGet, "/api/v1/namespaces/rv/configmaps", "")
	if upList != fList {
		t.Errorf("follower list:\n%s\nupstream list:\n%s", fList, upList)
	}
}

// TestUpstream_B174_ConsistentReadSeesUpstreamWrite: a consistent GET and
// LIST on the follower, sent right after a write on the upstream returned,
// show that write (the follower waits for the upstream's current RV), and
// concurrent consistent readers share the follower's revision requests.
func TestUpstream_B174_ConsistentReadSeesUpstreamWrite(t *testing.T) {
	up := startEnv(t)
	f := startFollower(t, up.url)
	ctx := t.Context()
	for i := range 5 {
		cm, err := up.cs.CoreV1().ConfigMaps("cr").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%d", i)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.cs.CoreV1().ConfigMaps("cr").Get(ctx, cm.Name, metav1.GetOptions{})
		if err != nil || got.ResourceVersion != cm.ResourceVersion {
			t.Fatalf("follower get after write %d: %v, err %v; want RV %s", i, got, err, cm.ResourceVersion)
		}
		l, err := f.cs.CoreV1().ConfigMaps("cr").List(ctx, metav1.ListOptions{})
		if err != nil || len(l.Items) != i+1 || l.ResourceVersion < cm.ResourceVersion {
			t.Fatalf("follower list after write %d: %d items at %s, err %v; want %d at >= %s", i, len(l.Items), l.ResourceVersion, err, i+1, cm.ResourceVersion)
		}
	}
	if n := f.metric(t, "watchcached_consistent_read_revision_requests_total", `resource="configmaps"`); n < 1 || n > 10 {
		t.Errorf("revision requests of the follower's configmaps cache: %d, want 1 to 10 (one per consistent read)", n)
	}
	if n := f.metric(t, "watchcached_cache_delegated_total", `resource="configmaps"`); n != 0 {
		t.Errorf("consistent reads forwarded to the upstream: %d, want 0 (the cache caught up each time)", n)
	}
}

// TestUpstream_B175_ForwardedWrites: writes through the follower are
// carried out by the upstream (its answer is the client's) and come back
// through the follower's watch.
func TestUpstream_B175_ForwardedWrites(t *testing.T) {
	up := startEnv(t)
	f := startFollower(t, up.url)
	code, _, body := f.do(t, http.MethodGet, "/api/v1/namespaces/fw/configmaps", "")
	if code != http.StatusOK {
		t.Fatalf("list: %d %s", code, body)
	}
	fw := watchFrom(t, f.url, "fw", rvOf(t, body))
	want := churnConfigMaps(t, f, "fw", 2)
	testkit.Equal(t, "follower watch of its forwarded writes", testkit.Next(t, fw, len(want)), want)
	if n := up.requests(t, "CREATE", "configmaps"); n != 2 {
		t.Errorf("creates on the upstream: %d, want 2", n)
	}
	got, err := up.cs.CoreV1().ConfigMaps("fw").Get(t.Context(), "cm-00", metav1.GetOptions{})
	if err != nil || got.Data["v"] != "1" {
		t.Errorf("upstream's cm-00: %v, err %v", got, err)
	}
	// The upstream's errors are the client's: a create of an existing name.
	code, _, body = f.do(t, http.MethodPost, "/api/v1/namespaces/fw/configmaps", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-00"}}`)
	if code != http.StatusConflict {
		t.Errorf("duplicate create: %d %s, want 409", code, body)
	}
}
