package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDaemon_B200_B203_LimitsWired: the daemon hands its request and
// connection limits to its frontends: a URL over --max-url-bytes is 400
// naming the limit and counted; headers over 1 MiB are net/http's 431
// (MaxHeaderBytes); both listeners' connections are counted.
func TestDaemon_B200_B203_LimitsWired(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cfg := testConfig(t)
	cfg.GRPCListen = "127.0.0.1:0"
	cfg.RequestLimits.MaxURLBytes, cfg.MaxConnections = 200, 50
	d, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close(context.Background()) }()
	base := "http://" + d.HTTPAddr
	path := "/api/v1/pods?labelSelector=" + strings.Repeat("a", 200)
	code, body := httpDo(t, http.MethodGet, base+path, "")
	want := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"request URL too long: 227 bytes, more than the limit of 200 bytes","reason":"BadRequest","code":400}`
	if code != 400 || strings.TrimSpace(body) != want {
		t.Errorf("long URL: %d %s", code, body)
	}
	req, err := http.NewRequest(http.MethodGet, base+"/livez", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Big", strings.Repeat("h", 1<<20+8192))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("1 MiB of headers: %v %v, want 431", resp, err)
	} else {
		resp.Body.Close()
	}
	_, metrics := httpDo(t, http.MethodGet, base+"/metrics", "")
	for _, line := range []string{`watchcached_rejected_requests_total{limit="max-url-bytes"} 1`,
		`watchcached_connections{frontend="http"}`, `watchcached_connections_accepted_total{frontend="http"}`} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics has no %s", line)
		}
	}
}
