package load

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestLoad_B207_Overload: with --max-requests-inflight L
// (WATCHCACHED_LOAD_INFLIGHT, 20), L clients LIST a 1 MB collection in a
// loop (the baseline), then 5L do, waiting the Retry-After of a 429 as
// client-go does: the excess is answered 429 promptly, the admitted lists
// keep their latency (p99 within 2x). Then 5L clients that retry at once
// (hostile): reported, and the daemon must survive and answer 429
// within 50 ms at p99. Each phase lasts WATCHCACHED_LOAD_PHASE (20 s).
func TestLoad_B207_Overload(t *testing.T) {
	loadEnabled(t)
	limit := envInt(t, "WATCHCACHED_LOAD_INFLIGHT", 20)
	phase := time.Duration(envInt(t, "WATCHCACHED_LOAD_PHASE", 20)) * time.Second
	d := start(t, fmt.Sprintf("WATCHCACHED_LOAD_MAX_INFLIGHT=%d", limit))
	fill(t, d, "mid", 1000, 1024)
	url := d.http + "/api/v1/namespaces/mid/pods"
	base := hammer(t, url, limit, phase, true)
	over := hammer(t, url, 5*limit, phase, true)
	hostile := hammer(t, url, 5*limit, phase, false)
	for _, r := range []hammered{base, over, hostile} {
		name := map[bool]string{true: "honouring Retry-After", false: "retrying at once"}[r.backoff]
		t.Logf("%s (%d clients): %d admitted (p50 %v, p99 %v), %d refused 429 (p50 %v, p99 %v), %d other",
			name, r.clients, len(r.ok), r.ok.quantile(0.5), r.ok.quantile(0.99), len(r.refused),
			r.refused.quantile(0.5), r.refused.quantile(0.99), r.other)
	}
	if !d.alive() {
		t.Fatal("the daemon died")
	}
	resp, err := http.Get(d.http + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz after the overload: %v %v", resp, err)
	}
	resp.Body.Close()
	if len(over.refused) == 0 || over.other+hostile.other > 0 {
		t.Errorf("overload: %d refused, %d and %d other answers", len(over.refused), over.other, hostile.other)
	}
	for _, r := range []hammered{over, hostile} {
		if p := r.refused.quantile(0.99); p > 50*time.Millisecond {
			t.Errorf("429 p99 %v, want prompt (<= 50ms)", p)
		}
	}
	if r := float64(over.ok.quantile(0.99)) / float64(base.ok.quantile(0.99)); r > 2 {
		t.Errorf("admitted p99 under overload is %.1fx the baseline's", r)
	}
}

type hammered struct {
	clients     int
	backoff     bool
	ok, refused latencies
	other       int
}

// hammer runs clients closed-loop LISTs of url for d; with backoff a
// client answered 429 waits its Retry-After first.
func hammer(t *testing.T, url string, clients int, d time.Duration, backoff bool) hammered {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var mu sync.Mutex
	out := hammered{clients: clients, backoff: backoff}
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for time.Now().Before(end) {
				begin := time.Now()
				resp, err := hc.Get(url)
				if err != nil {
					mu.Lock()
					out.other++
					mu.Unlock()
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took := time.Since(begin)
				mu.Lock()
				switch resp.StatusCode {
				case 200:
					out.ok = append(out.ok, took)
				case 429:
					out.refused = append(out.refused, took)
				default:
					out.other++
				}
				mu.Unlock()
				if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); backoff && resp.StatusCode == 429 && err == nil {
					time.Sleep(time.Duration(s) * time.Second) // a client's back-off, as client-go's
				}
			}
		})
	}
	wg.Wait()
	return out
}
