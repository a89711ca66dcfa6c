package load

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLoad_B206_StalledClients: a 10 MB collection (10,000 pods of 1 KB);
// WATCHCACHED_LOAD_STALLED (200) LIST clients of it and as many
// initial-events watchers of it send their request and never read, for
// WATCHCACHED_LOAD_STALL (30 s). The daemon's RSS is sampled, and a
// healthy client's GET p99 during the stall is compared with the idle
// server's.
func TestLoad_B206_StalledClients(t *testing.T) {
	loadEnabled(t)
	n := envInt(t, "WATCHCACHED_LOAD_STALLED", 200)
	stall := time.Duration(envInt(t, "WATCHCACHED_LOAD_STALL", 30)) * time.Second
	d := start(t)
	fill(t, d, "big", 10000, 1024)
	hc := &http.Client{}
	get := d.http + "/api/v1/namespaces/big/pods/p-00042"
	getLatencies(t, hc, get, 200) // warm
	idle := getLatencies(t, hc, get, 2000)
	base := d.rss(t)
	t.Logf("idle: GET p50 %v p99 %v; RSS %.0f MiB", idle.quantile(0.5), idle.quantile(0.99), mib(base))

	stop := make(chan struct{})
	samples, sampled := d.sampleRSS(t, stop)
	addr := strings.TrimPrefix(d.http, "http://")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	stallAll := func(path string) {
		for range n {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path)
		}
	}
	var during latencies
	measure := func() int64 { // GETs for half the stall; the RSS peak meanwhile
		begin, peak := time.Now(), int64(0)
		for time.Since(begin) < stall/2 {
			during = append(during, getLatencies(t, hc, get, 100)...)
			peak = max(peak, d.rss(t))
		}
		return peak
	}
	// Watchers first (initial events of the whole collection), then lists.
	stallAll("/api/v1/namespaces/big/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
	withWatches := measure()
	stallAll("/api/v1/namespaces/big/pods")
	peak := max(withWatches, measure())
	close(stop)
	<-sampled
	t.Logf("%d stalled watches: RSS %.0f MiB (+%.0f KiB per watch); then %d stalled lists: RSS peak %.0f MiB (+%.0f KiB per list)",
		n, mib(withWatches), float64(withWatches-base)/float64(n)/1024, n, mib(peak), float64(peak-withWatches)/float64(n)/1024)
	t.Logf("GET during the stall: p50 %v p99 %v (idle p99 %v, ratio %.2f)", during.quantile(0.5), during.quantile(0.99),
		idle.quantile(0.99), float64(during.quantile(0.99))/float64(idle.quantile(0.99)))
	reportRSS(t, *samples, "load-stalled", fmt.Sprintf("%d stalled LIST clients of 10 MB + %d stalled watchers", n, n))
	if !d.alive() {
		t.Fatal("the daemon died")
	}
	if r := float64(during.quantile(0.99)) / float64(idle.quantile(0.99)); r > 2 {
		t.Errorf("GET p99 during the stall is %.1fx the idle server's (want <= 2x)", r)
	}
}
