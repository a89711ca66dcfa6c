package replicas

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// maxLag is the lagging replica's --readyz-max-cache-lag: the least the
// daemon accepts above the caches' 5 s progress interval, to keep the
// test short.
const maxLag = 5500 * time.Millisecond

// TestReplicas_B241_LaggingReplicaNotReady stalls the etcd watch of one
// replica of two (its data connection to etcd runs through a proxy that
// holds the bytes of connections carrying a watch) while a writer keeps
// etcd's revision moving through the other. The stalled replica keeps
// answering RV=0 lists from its cache (as kube-apiserver does), times
// out a NotOlderThan list of an RV the healthy replica served with the
// exact 504 of one replica, and a consistent list (its revision request is
// on the stalled connection) with a 504 Timeout; once it has lagged for longer than
// --readyz-max-cache-lag its cache check fails /readyz (500, the check
// named cache:configmaps, the etcd check still passing through the health
// client's own connection), and it is ready again as soon as the stream
// flows, without a restart.
func TestReplicas_B241_LaggingReplicaNotReady(t *testing.T) {
	t.Parallel()
	cluster := etcdtest.StartCluster(t, 3)
	eps := cluster.Endpoints()
	healthy := startReplica(t, "replica-0", replicaConfig(eps))
	px, err := newStallProxy(strings.TrimPrefix(eps[2], "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := px.close(); err != nil {
			t.Errorf("proxy: %v", err)
		}
	})
	cfg := replicaConfig([]string{px.URL()})
	cfg.ReadyzMaxCacheLag = maxLag
	lagging := startReplica(t, "replica-1", cfg)
	t.Cleanup(func() { px.setStalled(false) }) // a failed test still closes the replica promptly

	hc := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	w := &writer{hc: hc, base: healthy.base}
	w.create(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait(); hc.CloseIdleConnections() }) // before the replicas close
	wg.Go(func() { w.run(ctx, t) })

	expectReply(t, hc, lagging.base+"/readyz", http.StatusOK, "ok")
	px.setStalled(true)
	stalledAt := time.Now()
	// A chunk the proxy was already writing may still land: take the
	// cache's RV once a few writes went by after the stall.
	acked := w.acked.Load()
	waitFor(t, "three writes after the stall", 10*time.Second, func() bool { return w.acked.Load() >= acked+3 })
	cacheRV := listRV(t, hc, lagging.base+collection+"?resourceVersion=0")
	seen := listRV(t, hc, healthy.base+collection)
	if seen <= cacheRV {
		t.Fatalf("the healthy replica at RV %d, not past the stalled cache's %d", seen, cacheRV)
	}

	// The stalled cache does not move: RV=0 is served from it, stale.
	if rv := listRV(t, hc, lagging.base+collection+"?resourceVersion=0"); rv != cacheRV {
		t.Fatalf("RV=0 list from the stalled replica at RV %d, want its cache's %d", rv, cacheRV)
	}
	// A consistent list cannot learn etcd's revision over the stalled
	// connection: 504 after the freshness timeout (run beside the next
	// read, which waits as long).
	consistent := make(chan reply, 1)
	go func() {
		r, err := call(ctx, hc, http.MethodGet, lagging.base+collection, "", "")
		if err != nil {
			r = reply{code: -1, body: []byte(err.Error())}
		}
		consistent <- r
	}()
	notOlder := fmt.Sprintf("%s%s?resourceVersion=%d&resourceVersionMatch=NotOlderThan", lagging.base, collection, seen)
	rep, err := call(ctx, hc, http.MethodGet, notOlder, "", "")
	if err != nil || rep.code != http.StatusGatewayTimeout {
		t.Fatalf("NotOlderThan %d from the stalled replica: %d %s %v, want 504", seen, rep.code, rep.body, err)
	}
	if err := checkTooLarge(rep.body, seen); err != nil {
		t.Fatal(err)
	}
	if st, _ := decodeStatus(rep.body); st.Message != fmt.Sprintf("Too large resource version: %d, current: %d", seen, cacheRV) {
		t.Fatalf("504 message %q, want the stalled cache's RV %d as current", st.Message, cacheRV)
	}

	crep := <-consistent
	if st, err := decodeStatus(crep.body); err != nil || crep.code != http.StatusGatewayTimeout || st.Reason != "Timeout" ||
		st.Message != "Timeout: etcd's current revision not learnt within 3s" {
		t.Fatalf("consistent list from the stalled replica: %d %s, want 504 Timeout", crep.code, crep.body)
	}

	var body string
	waitFor(t, "the stalled replica's /readyz fails", maxLag+10*time.Second, func() bool {
		r, err := call(ctx, hc, http.MethodGet, lagging.base+"/readyz", "", "")
		body = string(r.body)
		return err == nil && r.code == http.StatusInternalServerError
	})
	// The lag counts from the last probe that saw a revision the cache
	// holds, up to one probe interval before the stall.
	if lagged := time.Since(stalledAt); lagged < maxLag-cacher.DefaultHealthInterval {
		t.Fatalf("/readyz failed %v after the stall, before the %v allowed (less a probe interval)", lagged, maxLag)
	}
	const failed = "[+]ping ok\n[+]etcd ok\n[-]cache:configmaps failed: reason withheld\n[+]shutdown ok\nreadyz check failed\n"
	if body != failed {
		t.Fatalf("/readyz of the stalled replica:\n%s\nwant:\n%s", body, failed)
	}
	rep, err = call(ctx, hc, http.MethodGet, lagging.base+"/readyz/cache:configmaps", "", "")
	reason := regexp.MustCompile(fmt.Sprintf(`^internal server error: the cache has lagged etcd for [0-9.]+m?s, more than the %v allowed \(cache at revision %d, etcd at [0-9]+\)\n$`,
		regexp.QuoteMeta(maxLag.String()), cacheRV))
	if err != nil || rep.code != http.StatusInternalServerError || !reason.Match(rep.body) {
		t.Fatalf("/readyz/cache:configmaps: %d %q %v, want 500 matching %s", rep.code, rep.body, err, reason)
	}
	expectReply(t, hc, healthy.base+"/readyz", http.StatusOK, "ok")

	px.setStalled(false)
	waitFor(t, "the replica is ready again once its watch flows", 10*time.Second, func() bool {
		r, err := call(ctx, hc, http.MethodGet, lagging.base+"/readyz", "", "")
		return err == nil && r.code == http.StatusOK
	})
	if rv := listRV(t, hc, notOlder); rv < seen {
		t.Fatalf("NotOlderThan %d from the recovered replica answered RV %d", seen, rv)
	}
}

// expectReply GETs url and checks the code and body.
func expectReply(t *testing.T, hc *http.Client, url string, code int, body string) {
	t.Helper()
	r, err := call(context.Background(), hc, http.MethodGet, url, "", "")
	if err != nil || r.code != code || string(r.body) != body {
		t.Fatalf("GET %s: %d %q %v, want %d %q", url, r.code, r.body, err, code, body)
	}
}

// listRV GETs a list that must answer 200 and returns its RV.
func listRV(t *testing.T, hc *http.Client, url string) uint64 {
	t.Helper()
	r, err := call(context.Background(), hc, http.MethodGet, url, "", "")
	if err != nil || r.code != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", url, r.code, r.body, err)
	}
	rv, err := resourceVersion(r.body)
	if err != nil {
		t.Fatal(err)
	}
	return rv
}
