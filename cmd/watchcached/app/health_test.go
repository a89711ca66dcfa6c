package app

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchcached/watchcached/etcdstore/etcdtest"
)

// lockedBuffer is a log sink safe for the daemon's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer // guarded by mu
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) count(msg string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), "msg="+`"`+msg+`"`)
}

// readyzLines is the verbose /readyz body with every check passing except
// failed.
func readyzLines(failed string) string {
	lines := []string{"[+]ping ok"}
	for _, name := range append([]string{"etcd"}, cacheCheckNames()...) {
		if name == failed {
			lines = append(lines, "[-]"+name+" failed: reason withheld")
		} else {
			lines = append(lines, "[+]"+name+" ok")
		}
	}
	lines = append(lines, "[+]shutdown ok")
	if failed != "" {
		return strings.Join(append(lines, "readyz check failed"), "\n") + "\n"
	}
	return strings.Join(append(lines, "readyz check passed"), "\n") + "\n"
}

func cacheCheckNames() []string {
	var names []string
	for _, r := range DefaultResources() {
		names = append(names, "cache:"+r.GroupResource())
	}
	return names
}

// waitHTTP polls url until it answers code, or fails after 15 s.
func waitHTTP(t *testing.T, url string, code int) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, body := httpDo(t, http.MethodGet, url, "")
		if got == code {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %d %s", url, got, body)
		}
		time.Sleep(20 * time.Millisecond) // polling a probe, as a kubelet does
	}
}

// TestDaemon_ReadyzFailsWhileEtcdIsGone: /readyz passes with every check
// listed, fails with "[-]etcd failed: reason withheld" once etcd stops
// (within the probe interval plus --etcd-healthcheck-timeout), while
// /livez and /healthz stay ok; the loss is logged once; a consistent LIST
// answers 504 Timeout after the freshness timeout (3 s), not after the
// request's 60 s.
func TestDaemon_ReadyzFailsWhileEtcdIsGone(t *testing.T) {
	etcd := etcdtest.Start(t)
	logs := &lockedBuffer{}
	cfg := testConfig(t)
	cfg.EtcdServers = []string{etcd.Endpoint}
	cfg.EtcdHealthcheckTimeout = 300 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	d := startReady(t, ctx, cfg)
	base := "http://" + d.HTTPAddr
	if body := waitHTTP(t, base+"/readyz?verbose", 200); body != readyzLines("") {
		t.Fatalf("readyz?verbose:\n%s\nwant\n%s", body, readyzLines(""))
	}

	etcd.Stop()
	if body := waitHTTP(t, base+"/readyz", 500); body != readyzLines("etcd") {
		t.Fatalf("readyz with etcd gone:\n%s\nwant\n%s", body, readyzLines("etcd"))
	}
	for _, p := range []string{"/livez", "/healthz"} {
		if code, body := httpDo(t, http.MethodGet, base+p, ""); code != 200 || body != "ok" {
			t.Errorf("%s with etcd gone: %d %s", p, code, body)
		}
	}
	code, body := httpDo(t, http.MethodGet, base+"/readyz/etcd", "")
	if code != 500 || body != "internal server error: etcd request timed out: context deadline exceeded\n" {
		t.Errorf("readyz/etcd: %d %q", code, body)
	}

	start := time.Now()
	code, body = httpDo(t, http.MethodGet, base+"/api/v1/namespaces/default/configmaps", "")
	var st struct {
		Code    int
		Reason  string
		Message string
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 504 || st.Code != 504 || st.Reason != "Timeout" ||
		st.Message != "Timeout: etcd's current revision not learnt within 3s" {
		t.Errorf("consistent list with etcd gone: %d %s", code, body)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("consistent list took %v", took)
	}
	if n := logs.count("etcd unreachable; /readyz fails"); n != 1 {
		t.Errorf("etcd loss logged %d times, want once", n)
	}
}

// startReady starts a daemon with cfg, closes it when the test ends, and
// waits until its caches are ready.
func startReady(t *testing.T, ctx context.Context, cfg Config) *Daemon {
	t.Helper()
	d, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	if err := d.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}
