package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

// cmdObjectMemory measures the server RSS per cached object with the
// daemon as its own process, so that neither etcd nor the client is
// counted: it starts an embedded etcd in this process, runs the daemon
// binary (--daemon) against it with --etcd-servers, and reads the
// daemon's VmRSS from /proc and its Go heap from /metrics
//
//  1. with the cache empty,
//  2. right after N ~1 KB pods were written through etcd (the cache
//     follows them by watch) and a consistent LIST shows it caught up,
//  3. after --lists full LISTs of the pods,
//
// then restarts the daemon on the filled etcd (the cache starts with one
// initial list) and reads it again at 2 and 3. Per-object figures are
// the difference from 1 divided by N.
//
//	watchcached-bench object-memory --daemon /tmp/wc --objects 100000 --lists 20
func cmdObjectMemory(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("object-memory", pflag.ContinueOnError)
	bin := fs.String("daemon", "", "watchcached binary to run (required; go build -o /tmp/wc ./cmd/watchcached)")
	n := fs.Int("objects", 100000, "~1 KB pods to write")
	lists := fs.Int("lists", 20, "full LISTs between the readings")
	settle := fs.Duration("settle", 2*time.Second, "wait before each reading")
	extra := fs.StringSlice("daemon-arg", nil, "extra daemon flag (repeatable)")
	profiles := fs.String("heap-profiles", "", "directory to write the daemon's heap profile at each reading into (after a forced GC)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bin == "" {
		return fmt.Errorf("object-memory: --daemon is required")
	}
	e, err := newEnv(ctx, nil)
	if err != nil {
		return err
	}
	defer e.close()
	d, err := startDaemonProcess(ctx, *bin, e.endpoints[0], *extra)
	if err != nil {
		return err
	}
	defer func() { d.stop() }()
	t := objMemTable{n: *n, profiles: *profiles}
	empty, err := d.read(*settle)
	if err != nil {
		return err
	}
	if empty.live, err = d.live(ctx, t.profile("empty")); err != nil {
		return err
	}
	t.base = empty
	fmt.Fprintf(os.Stderr, "empty daemon: RSS %d B; filling %d pods\n", empty.rss, *n)
	if _, err := fill(ctx, e.etcd, *n); err != nil {
		return err
	}
	if err := d.phases(ctx, &t, "filled through etcd (watch)", *lists, *settle); err != nil {
		return err
	}
	d.stop()
	if d, err = startDaemonProcess(ctx, *bin, e.endpoints[0], *extra); err != nil {
		return err
	}
	if err := d.phases(ctx, &t, "restarted on the filled etcd (initial list)", *lists, *settle); err != nil {
		return err
	}
	fmt.Print(t.String())
	return nil
}

// objMemTable collects the readings of cmdObjectMemory as Markdown rows.
type objMemTable struct {
	n        int
	profiles string // directory of heap profiles; "" for none
	base     memory
	rows     []string
}

func (t *objMemTable) add(what string, m memory) {
	per := func(a, b int64) float64 { return float64(b-a) / float64(t.n) }
	t.rows = append(t.rows, fmt.Sprintf("| %s | %.0f B | %.0f B | %.0f B | %.1f MiB |",
		what, per(t.base.rss, m.rss), per(t.base.heap, m.heap), per(t.base.live, m.live), float64(m.rss)/(1<<20)))
}

// profile is the file of the heap profile of a reading, "" for none.
func (t *objMemTable) profile(name string) string {
	if t.profiles == "" {
		return ""
	}
	return filepath.Join(t.profiles, fmt.Sprintf("heap-%d-%s.pb.gz", len(t.rows), name))
}

func (t *objMemTable) String() string {
	return fmt.Sprintf("| %d pods, daemon as its own process | RSS per object | Go heap in use per object | live heap per object (after GC) | RSS |\n|---|---|---|---|---|\n"+
		"| empty cache | — | — | — | %.1f MiB |\n%s\n", t.n, float64(t.base.rss)/(1<<20), strings.Join(t.rows, "\n"))
}

// daemonProcess is one watchcached run by cmdObjectMemory.
type daemonProcess struct {
	cmd    *exec.Cmd
	server string
}

func startDaemonProcess(ctx context.Context, bin, etcd string, extra []string) (*daemonProcess, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--etcd-servers", etcd, "--listen", addr, "--grpc-listen", "", "--log-level", "warn", "--profiling"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemonProcess{cmd: cmd, server: "http://" + addr}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(d.server + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			d.stop()
			return nil, fmt.Errorf("daemon not ready at %s: %v", d.server, err)
		}
		time.Sleep(50 * time.Millisecond) // polling a process we do not control
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (d *daemonProcess) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	_ = d.cmd.Wait()
}

func (d *daemonProcess) read(settle time.Duration) (memory, error) {
	time.Sleep(settle) // measurement pause, not a synchronisation
	return serverMemory(d.server, d.cmd.Process.Pid)
}

// live forces a collection in the daemon (pprof's gc=1), writing the
// heap profile to file unless it is "", and returns the heap then live
// (go_memstats_heap_alloc_bytes). RSS is read before, as the daemon left it.
func (d *daemonProcess) live(ctx context.Context, file string) (int64, error) {
	w := io.Discard
	if file != "" {
		f, err := os.Create(file)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		w = f
	}
	if err := d.get(ctx, "/debug/pprof/heap?gc=1", w); err != nil {
		return 0, err
	}
	return metricValue(d.server, "go_memstats_heap_alloc_bytes")
}

// phases waits for the cache to hold everything in etcd, reads the
// memory, runs the LISTs and reads it again.
func (d *daemonProcess) phases(ctx context.Context, t *objMemTable, what string, lists int, settle time.Duration) error {
	if err := d.get(ctx, "/api/v1/pods?limit=1", io.Discard); err != nil { // consistent: waits for the cache to catch up
		return err
	}
	m, err := d.read(settle)
	if err != nil {
		return err
	}
	if m.live, err = d.live(ctx, t.profile("filled")); err != nil {
		return err
	}
	t.add(what, m)
	for range lists {
		if err := d.get(ctx, "/api/v1/pods?resourceVersion=0", io.Discard); err != nil {
			return err
		}
	}
	if m, err = d.read(settle); err != nil {
		return err
	}
	if m.live, err = d.live(ctx, t.profile("listed")); err != nil {
		return err
	}
	t.add(fmt.Sprintf("%s, after %d LISTs", what, lists), m)
	return nil
}

func (d *daemonProcess) get(ctx context.Context, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.server+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// metricValue reads one unlabelled sample from the server's /metrics.
func metricValue(server, name string) (int64, error) {
	resp, err := http.Get(server + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int64(f), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no %s", server, name)
}
