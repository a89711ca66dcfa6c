package app

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchcached/watchcached/internal/testkit"
)

// TestIdleWatchMemory_HTTP2 measures what an idle watch costs the server
// when client-go's way is used: N watches multiplexed on one TLS
// connection (HTTP/2). The daemon runs as its own process (built from
// ../), so the client's memory is not counted; its heap and stacks are
// read from /metrics after a forced collection (/debug/pprof/heap?gc=1),
// its RSS from /proc. Opt-in: WATCHCACHED_MEASURE_IDLE_WATCHES=1 (N from
// WATCHCACHED_IDLE_WATCHES, default 1000). Issue 11's target: <= 8 KB per
// watch.
func TestIdleWatchMemory_HTTP2(t *testing.T) {
	if os.Getenv("WATCHCACHED_MEASURE_IDLE_WATCHES") != "1" {
		t.Skip("a measurement: set WATCHCACHED_MEASURE_IDLE_WATCHES=1")
	}
	n := 1000
	if s := os.Getenv("WATCHCACHED_IDLE_WATCHES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	ca := testkit.NewCA(t, "idle")
	srv := ca.Server(t, "server")
	pid, base := startDaemonProcess(t, "--tls-cert-file", srv.CertFile, "--tls-private-key-file", srv.KeyFile)
	tlsCfg := &tls.Config{RootCAs: ca.Pool()}
	probe := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}}
	var dials atomic.Int32
	watchTr := &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	watches := &http.Client{Transport: watchTr}
	defer watchTr.CloseIdleConnections()

	waitWatchers(t, probe, base, 0)
	before := serverMemory(t, probe, base, pid)
	if out := os.Getenv("WATCHCACHED_IDLE_HEAP_PROFILE"); out != "" {
		if err := os.WriteFile(out+".before", []byte(httpGet(t, probe, base+"/debug/pprof/heap")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for i := range n {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/namespaces/idle/pods?watch=1", nil)
		resp, err := watches.Do(req)
		if err != nil {
			t.Fatalf("watch %d: %v", i, err)
		}
		if resp.ProtoMajor != 2 {
			t.Fatalf("watch %d over %s, want HTTP/2", i, resp.Proto)
		}
		defer resp.Body.Close()
	}
	waitWatchers(t, probe, base, n)
	after := serverMemory(t, probe, base, pid)
	if out := os.Getenv("WATCHCACHED_IDLE_HEAP_PROFILE"); out != "" {
		if err := os.WriteFile(out, []byte(httpGet(t, probe, base+"/debug/pprof/heap")), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out+".goroutines", []byte(httpGet(t, probe, base+"/debug/pprof/goroutine?debug=2")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if d := dials.Load(); d != 1 {
		t.Errorf("%d connections for %d watches, want 1", d, n)
	}
	heap := float64(after.heap+after.stack-before.heap-before.stack) / float64(n)
	rss := float64(after.rss-before.rss) / float64(n)
	t.Logf("%d idle watches on one HTTP/2 connection: heap+stacks %.0f B/watch (heap %d -> %d, stacks %d -> %d), RSS %.0f B/watch (%d -> %d)",
		n, heap, before.heap, after.heap, before.stack, after.stack, rss, before.rss, after.rss)
	if heap > 8<<10 {
		t.Errorf("heap+stacks %.0f B per idle watch, target <= 8 KiB", heap)
	}
}

// memory is a server process's memory at one moment.
type memory struct{ heap, stack, rss int64 }

// serverMemory forces a collection in the server, then reads its heap and
// stacks in use from /metrics and its RSS from /proc.
func serverMemory(t *testing.T, c *http.Client, base string, pid int) memory {
	t.Helper()
	httpGet(t, c, base+"/debug/pprof/heap?gc=1")
	page := httpGet(t, c, base+"/metrics")
	m := memory{heap: metricValue(t, page, "go_memstats_heap_inuse_bytes"), stack: metricValue(t, page, "go_memstats_stack_inuse_bytes")}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			m.rss = kb << 10
		}
	}
	return m
}

// waitWatchers waits until the server has n open HTTP watches of pods.
func waitWatchers(t *testing.T, c *http.Client, base string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		page := httpGet(t, c, base+"/metrics")
		if strings.Contains(page, "\nwatchcached_http_watchers{resource=\"pods\"} "+strconv.Itoa(n)+"\n") ||
			(n == 0 && !strings.Contains(page, "watchcached_http_watchers{resource=\"pods\"}")) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never had %d watchers", n)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

func httpGet(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// metricValue is the value of an unlabelled series of a /metrics page.
func metricValue(t *testing.T, page, name string) int64 {
	t.Helper()
	for _, l := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int64(f)
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// startDaemonProcess builds the daemon and runs it as a process of its own
// on a fresh embedded etcd with --profiling and args, until the test ends;
// it returns the pid and the HTTPS base URL the daemon logged.
func startDaemonProcess(t *testing.T, args ...string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "watchcached")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0",
		"--grpc-listen", "", "--profiling", "--log-format", "json", "--max-watches", "0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		var l struct{ Msg, HTTP string }
		if json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "watchcached serving" {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return cmd.Process.Pid, "https://" + l.HTTP
		}
	}
	t.Fatalf("the daemon exited before serving: %v", lines.Err())
	return 0, ""
}
