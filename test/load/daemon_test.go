package load

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/watchcached/watchcached/cmd/watchcached/app"
)

// daemonEnv makes this test binary serve as the daemon (see TestMain).
const daemonEnv = "WATCHCACHED_LOAD_DAEMON"

func TestMain(m *testing.M) {
	if os.Getenv(daemonEnv) != "" {
		os.Exit(runDaemon())
	}
	os.Exit(m.Run())
}

// runDaemon serves until SIGTERM: a daemon on loopback with a fast
// embedded etcd in WATCHCACHED_LOAD_DATA, its limits from the
// environment; it prints "ready <http> <grpc> <etcd>" once listening.
func runDaemon() int {
	cfg := app.DefaultConfig()
	cfg.Listen, cfg.GRPCListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DataDir = os.Getenv("WATCHCACHED_LOAD_DATA")
	cfg.FastEmbeddedEtcd = true
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg.Limits.MaxWatches = 0
	cfg.Profiling = os.Getenv("WATCHCACHED_LOAD_PROFILING") == "1" // pprof under /debug/pprof/
	if d := os.Getenv("WATCHCACHED_LOAD_COMPACTION"); d != "" {
		// etcd keeps every revision between two compactions: in a run
		// shorter than two rounds of the default 5 minutes that history
		// (in the same process) grows for the whole run.
		iv, err := time.ParseDuration(d)
		if err != nil {
			fmt.Fprintln(os.Stderr, "WATCHCACHED_LOAD_COMPACTION:", err)
			return 1
		}
		cfg.EtcdCompactionInterval = &iv
	}
	if n := os.Getenv("WATCHCACHED_LOAD_MAX_INFLIGHT"); n != "" {
		cfg.Limits.MaxRequestsInflight, _ = strconv.Atoi(n)
	}
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
	fmt.Printf("ready %s %s %s\n", d.HTTPAddr, d.GRPCAddr, d.EtcdEndpoints[0])
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	_ = d.Close(ctx)
	return 0
}

// daemon is a daemon process started by start.
type daemon struct {
	cmd                *exec.Cmd
	http, grpc, etcdEP string
}

// start runs the daemon with env (KEY=VALUE) added; t.Cleanup stops it.
func start(t *testing.T, env ...string) *daemon {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, daemonEnv+"=1", "WATCHCACHED_LOAD_DATA="+t.TempDir())...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 4 || f[0] != "ready" {
		t.Fatalf("daemon did not start: %q, %v", line, err)
	}
	return &daemon{cmd: cmd, http: "http://" + f[1], grpc: f[2], etcdEP: f[3]}
}

// rss is the daemon's resident set in bytes, from /proc.
func (d *daemon) rss(t *testing.T) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// alive reports whether the daemon process is still running.
func (d *daemon) alive() bool {
	return d.cmd.ProcessState == nil && d.cmd.Process.Signal(syscall.Signal(0)) == nil
}

// sample is one RSS sample, t seconds into the run.
type sample struct {
	t   float64
	rss int64
}

// sampleRSS samples the daemon's RSS every second until stop is closed;
// the result is ready once done is closed.
func (d *daemon) sampleRSS(t *testing.T, stop <-chan struct{}) (samples *[]sample, done <-chan struct{}) {
	out, fin := &[]sample{}, make(chan struct{})
	begin := time.Now()
	go func() {
		defer close(fin)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			*out = append(*out, sample{time.Since(begin).Seconds(), d.rss(t)})
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	return out, fin
}

// loadEnabled skips the test unless WATCHCACHED_LOAD=1.
func loadEnabled(t *testing.T) {
	t.Helper()
	if os.Getenv("WATCHCACHED_LOAD") != "1" {
		t.Skip("load test: set WATCHCACHED_LOAD=1 to run it (see docs/BENCHMARKS.md)")
	}
}

// envInt is the integer in env var name, or def.
func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return n
}

// loadDuration is WATCHCACHED_LOAD_DURATION, default 10 minutes.
func loadDuration(t *testing.T) time.Duration {
	s := os.Getenv("WATCHCACHED_LOAD_DURATION")
	if s == "" {
		return 10 * time.Minute
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("WATCHCACHED_LOAD_DURATION=%q: %v", s, err)
	}
	return d
}
