package app

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// metricLines are the lines of the /metrics page that start with one of
// the families, without HELP and TYPE lines.
func metricLines(page string, families ...string) []string {
	var out []string
	for _, l := range strings.Split(page, "\n") {
		for _, f := range families {
			if strings.HasPrefix(l, f+"{") || strings.HasPrefix(l, f+" ") {
				out = append(out, l)
			}
		}
	}
	return out
}

// TestDaemon_B163_KubeMetricNames: after known requests, /metrics has
// kube-apiserver's families with its labels and values, beside the
// watchcached_* ones.
func TestDaemon_B163_KubeMetricNames(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	d := startReady(t, ctx, testConfig(t))
	base := "http://" + d.HTTPAddr
	newCM := func(ns, name string) string {
		return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `","namespace":"` + ns + `"}}`
	}
	expect := func(method, path, body string, code int) string {
		t.Helper()
		got, out := httpDo(t, method, base+path, body)
		if got != code {
			t.Fatalf("%s %s: %d %s, want %d", method, path, got, out, code)
		}
		return out
	}
	// A watch open while the other requests run.
	wctx, wcancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(wctx, http.MethodGet, base+"/api/v1/namespaces/default/configmaps?watch=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	events := bufio.NewReader(resp.Body)
	expect(http.MethodPost, "/api/v1/namespaces/default/configmaps", newCM("default", "c1"), 201)
	if _, err := events.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	open := metricsText(t, d)
	wcancel()
	resp.Body.Close()
	expect(http.MethodPost, "/api/v1/namespaces/default/configmaps", newCM("default", "c2"), 201)
	expect(http.MethodPost, "/api/v1/namespaces/other/configmaps", newCM("other", "c3"), 201)
	expect(http.MethodPost, "/api/v1/namespaces/default/configmaps?dryRun=All", newCM("default", "c4"), 201)
	expect(http.MethodGet, "/api/v1/namespaces/default/configmaps/c1", "", 200)
	expect(http.MethodGet, "/api/v1/configmaps", "", 200)
	expect(http.MethodGet, "/apis/apps/v1/namespaces/default/deployments/missing", "", 404)
	expect(http.MethodDelete, "/api/v1/namespaces/default/configmaps", "", 200)
	// A consistent list: every event up to its RV is in the cache.
	list := expect(http.MethodGet, "/api/v1/namespaces/other/configmaps", "", 200)
	const rvPrefix = `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"`
	rv, _, _ := strings.Cut(strings.TrimPrefix(list, rvPrefix), `"`)
	const watchLabels = `{component="apiserver",group="",resource="configmaps",scope="namespace",subresource="",verb="WATCH",version="v1"}`
	if got := metricLines(open, "apiserver_longrunning_requests"); strings.Join(got, "\n") != "apiserver_longrunning_requests"+watchLabels+" 1" {
		t.Errorf("long-running while the watch was open:\n%s", strings.Join(got, "\n"))
	}
	page := waitMetrics(t, d, "apiserver_longrunning_requests"+watchLabels+" 0")
	const cm = `component="apiserver",dry_run="",group="",resource="configmaps"`
	wantRequests := []string{
		`apiserver_request_total{code="200",` + cm + `,scope="cluster",subresource="",verb="LIST",version="v1"} 1`,
		`apiserver_request_total{code="200",` + cm + `,scope="namespace",subresource="",verb="DELETE",version="v1"} 1`,
		`apiserver_request_total{code="200",` + cm + `,scope="namespace",subresource="",verb="LIST",version="v1"} 1`,
		`apiserver_request_total{code="200",` + cm + `,scope="namespace",subresource="",verb="WATCH",version="v1"} 1`,
		`apiserver_request_total{code="200",` + cm + `,scope="resource",subresource="",verb="GET",version="v1"} 1`,
		`apiserver_request_total{code="201",` + cm + `,scope="resource",subresource="",verb="POST",version="v1"} 3`,
		`apiserver_request_total{code="201",component="apiserver",dry_run="All",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 1`,
		`apiserver_request_total{code="404",component="apiserver",dry_run="",group="apps",resource="deployments",scope="resource",subresource="",verb="GET",version="v1"} 1`,
	}
	got := metricLines(page, "apiserver_request_total")
	if strings.Join(got, "\n") != strings.Join(wantRequests, "\n") {
		t.Errorf("apiserver_request_total:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantRequests, "\n"))
	}
	for _, want := range []string{
		`apiserver_request_duration_seconds_count{` + cm + `,scope="namespace",subresource="",verb="WATCH",version="v1"} 1`,
		`apiserver_request_duration_seconds_count{` + cm + `,scope="resource",subresource="",verb="POST",version="v1"} 3`,
		`apiserver_watch_cache_events_received_total{group="",resource="configmaps"} 5`,
		`apiserver_watch_cache_resource_version{group="",resource="configmaps"} ` + rv,
		`apiserver_storage_objects{resource="configmaps"} 1`,
		`apiserver_storage_objects{resource="deployments.apps"} 0`,
		`etcd_request_duration_seconds_count{group="",operation="create",resource="configmaps"} 3`,
		`etcd_request_duration_seconds_count{group="",operation="delete",resource="configmaps"} 2`,
		`watchcached_http_requests_total{cache="false",code="201",resource="configmaps",verb="CREATE"} 4`,
	} {
		if !strings.Contains(page, "\n"+want+"\n") {
			t.Errorf("no %s", want)
		}
	}
	// kube-apiserver's buckets, on both latency families.
	for _, series := range []string{
		`apiserver_request_duration_seconds_bucket{` + cm + `,scope="resource",subresource="",verb="POST",version="v1",le="`,
		`etcd_request_duration_seconds_bucket{group="",operation="create",resource="configmaps",le="`,
	} {
		var les []string
		for _, l := range strings.Split(page, "\n") {
			if rest, ok := strings.CutPrefix(l, series); ok {
				le, _, _ := strings.Cut(rest, `"`)
				les = append(les, le)
			}
		}
		const kube = "0.005 0.025 0.05 0.1 0.2 0.4 0.6 0.8 1 1.25 1.5 2 3 4 5 6 8 10 15 20 30 45 60 +Inf"
		if strings.Join(les, " ") != kube {
			t.Errorf("%s buckets %v, want %s", series, les, kube)
		}
	}
}

// waitMetrics polls /metrics until it has the line want (a watch's
// series change when its handler returns, after the client went away).
func waitMetrics(t *testing.T, d *Daemon, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		page := metricsText(t, d)
		if strings.Contains(page, "\n"+want+"\n") || time.Now().After(deadline) {
			if !strings.Contains(page, "\n"+want+"\n") {
				t.Fatalf("no %s after 10s", want)
			}
			return page
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}
