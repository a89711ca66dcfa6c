package warmrestart

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/internal/testkit"
)

// daemonEnv makes this test binary serve as the daemon, on the data
// directory it names.
const daemonEnv = "WATCHCACHED_WARM_DAEMON_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(daemonEnv); dir != "" {
		os.Exit(runDaemon(dir))
	}
	testkit.VerifyTestMain(m)
}

// runDaemon serves pods with an embedded etcd in dir, snapshots every
// second, logs at info to stderr and prints "ready <http> <etcd>"; it
// runs until killed.
func runDaemon(dir string) int {
	cfg := app.DefaultConfig()
	cfg.Listen, cfg.GRPCListen, cfg.DataDir, cfg.FastEmbeddedEtcd = "127.0.0.1:0", "", dir, true
	cfg.Resources = app.DefaultResources()[:1] // pods
	cfg.WarmRestartInterval = time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	d, err := app.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := d.WaitReady(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("ready %s %s\n", d.HTTPAddr, d.EtcdEndpoints[0])
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	_ = d.Close(ctx)
	return 0
}

// daemon is a daemon process and what it logged.
type daemon struct {
	cmd        *exec.Cmd
	http, etcd string
	logMu      sync.Mutex
	log        bytes.Buffer // guarded by logMu
	logDone    chan struct{}
}

func start(t *testing.T, dir string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(os.Args[0], "-test.run=^$"), logDone: make(chan struct{})}
	d.cmd.Env = append(os.Environ(), daemonEnv+"="+dir)
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errPipe, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(d.logDone)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			d.logMu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			d.logMu.Unlock()
		}
	}()
	t.Cleanup(func() { d.kill() })
	// Runs first: the keep-alive connections of get and post end before
	// the daemon does, not when the leak check runs.
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	line, err := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 3 || f[0] != "ready" {
		d.kill()
		t.Fatalf("daemon did not start: %q, %v\n%s", line, err, d.logs())
	}
	d.http, d.etcd = "http://"+f[1], f[2]
	return d
}

// kill sends SIGKILL and waits for the process and its log reader.
func (d *daemon) kill() {
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Kill()
	_ = d.cmd.Wait()
	<-d.logDone
}

func (d *daemon) logs() string {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	return d.log.String()
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// create creates a pod and returns its resourceVersion.
func create(base, name string) (uint64, error) {
	resp, err := http.Post(base+"/api/v1/namespaces/default/pods", "application/json",
		bytes.NewReader(testkit.PodJSON("default", name, "n1", nil)))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var o struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil || resp.StatusCode != 201 {
		return 0, fmt.Errorf("create %s: %d %v", name, resp.StatusCode, err)
	}
	return strconv.ParseUint(o.Metadata.ResourceVersion, 10, 64)
}

var savedLine = regexp.MustCompile(`msg="cache snapshot saved" resource=pods rv=(\d+)`)

// lastSaved is the revision of the last snapshot d logged as saved.
func (d *daemon) lastSaved() uint64 {
	m := savedLine.FindAllStringSubmatch(d.logs(), -1)
	if m == nil {
		return 0
	}
	rv, _ := strconv.ParseUint(m[len(m)-1][1], 10, 64)
	return rv
}

// B236: a daemon killed with SIGKILL while a client writes (after a
// periodic snapshot, with writes acknowledged past its revision) restarts
// on the same data directory from that snapshot: its pods cache logs
// `cache started warm` at the snapshot's revision and never lists, and a
// consistent list through it shows exactly etcd's pods at the list's
// revision, the writes after the snapshot included.
func TestWarmRestart_B236_SIGKILLDuringWrites(t *testing.T) {
	dir := t.TempDir()
	d1 := start(t, dir)
	for i := range 20 {
		if _, err := create(d1.http, fmt.Sprintf("before-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// A writer runs until the daemon dies; it is killed once a periodic
	// snapshot holds some of the writer's pods and a write acknowledged
	// after that snapshot's revision exists.
	var lastAck, firstAck atomic.Uint64
	written := make(chan int)
	go func() {
		n := 0
		for {
			rv, err := create(d1.http, fmt.Sprintf("during-%04d", n))
			if err != nil {
				break
			}
			firstAck.CompareAndSwap(0, rv)
			lastAck.Store(rv)
			n++
		}
		written <- n
	}()
	var saved uint64
	for deadline := time.Now().Add(30 * time.Second); ; {
		saved = d1.lastSaved()
		if first := firstAck.Load(); first != 0 && saved >= first && lastAck.Load() > saved {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no periodic snapshot during the writes (saved %d, writes %d-%d):\n%.3000s", saved, firstAck.Load(), lastAck.Load(), d1.logs())
		}
		<-time.After(20 * time.Millisecond) // periodic saves are a second apart
	}
	d1.kill() // SIGKILL, mid-write: no shutdown snapshot
	<-written
	if got := d1.lastSaved(); got < saved || got >= lastAck.Load() {
		t.Fatalf("last snapshot at %d; want one at or after %d and before the last write %d", got, saved, lastAck.Load())
	}
	saved = d1.lastSaved()
	if strings.Contains(d1.logs(), "watchcached stopped") {
		t.Fatal("the daemon shut down instead of dying")
	}

	d2 := start(t, dir)
	warmLine := regexp.MustCompile(fmt.Sprintf(`msg="cache started warm" resource=pods objects=\d+ rv=%d `, saved))
	for deadline := time.Now().Add(10 * time.Second); !warmLine.MatchString(d2.logs()); {
		// The line was written before "ready"; it is on its way through the pipe.
		if time.Now().After(deadline) || strings.Contains(d2.logs(), "cache starting cold") {
			t.Fatalf("not a warm start:\n%s", d2.logs())
		}
		<-time.After(10 * time.Millisecond)
	}
	if strings.Contains(d2.logs(), "cache starting cold") {
		t.Fatalf("a cold start:\n%s", d2.logs())
	}
	metrics := get(t, d2.http+"/metrics")
	if !strings.Contains(metrics, `watchcached_cache_starts_total{resource="pods",start="warm"} 1`+"\n") ||
		strings.Contains(metrics, `start="cold"`) {
		t.Fatalf("starts: %s", grep(metrics, "watchcached_cache_starts_total"))
	}
	got, rv := itemsOf(t, get(t, d2.http+"/api/v1/namespaces/default/pods"))
	want := etcdPods(t, d2.etcd, rv)
	if len(got) < 22 || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("cache at %s:\n%v\netcd:\n%v", rv, got, want)
	}
}

// itemsOf is "name@rv" of every pod in a list body, sorted, and the
// list's resourceVersion.
func itemsOf(t *testing.T, body string) ([]string, string) {
	t.Helper()
	type meta struct {
		Name            string `json:"name"`
		ResourceVersion string `json:"resourceVersion"`
	}
	var list struct {
		Metadata meta `json:"metadata"`
		Items    []struct {
			Metadata meta `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range list.Items {
		out = append(out, it.Metadata.Name+"@"+it.Metadata.ResourceVersion)
	}
	sort.Strings(out)
	return out, list.Metadata.ResourceVersion
}

// etcdPods is "name@modRevision" of every pod in etcd at rev, sorted.
func etcdPods(t *testing.T, endpoint, rev string) []string {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	var r int64
	fmt.Sscan(rev, &r)
	resp, err := cli.Get(context.Background(), "/registry/pods/default/", clientv3.WithPrefix(), clientv3.WithRev(r), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, fmt.Sprintf("%s@%d", strings.TrimPrefix(string(kv.Key), "/registry/pods/default/"), kv.ModRevision))
	}
	sort.Strings(out)
	return out
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
