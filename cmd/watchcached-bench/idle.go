package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/watchcached/watchcached/cmd/watchcached-bench/measure"
)

// cmdIdle measures what idle watchers cost a server: it reads the server
// process's RSS (from /proc) and Go heap (from /metrics), opens N HTTP/1.1
// watches, each on its own connection, lets them settle, and reads both
// again. The server must run as its own process (--pid), so the client's
// memory is not counted.
//
//	watchcached-bench idle-watchers --server http://127.0.0.1:8080 --pid PID --watchers 2000
func cmdIdle(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("idle-watchers", pflag.ContinueOnError)
	server := fs.String("server", "http://127.0.0.1:8080", "server URL")
	pid := fs.Int("pid", 0, "server process id (required)")
	n := fs.Int("watchers", 1000, "idle watches to open")
	path := fs.String("path", "/api/v1/namespaces/idle/pods", "collection to watch (keep it idle)")
	settle := fs.Duration("settle", 3*time.Second, "wait after opening before measuring")
	profile := fs.String("heap-profile", "", "with the server's --profiling: force a collection before each reading, "+
		"report the live heap, and write the heap profile with the watches open to this file")
	gcs := fs.Int("gcs", 1, "with --heap-profile: collections forced before each reading (each may halve idle goroutines' stacks)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pid <= 0 {
		return fmt.Errorf("idle-watchers: --pid of the server process is required")
	}
	before, err := idleReading(*server, *pid, *profile, "", *gcs)
	if err != nil {
		return err
	}
	conns := make([]net.Conn, 0, *n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	host := strings.TrimPrefix(*server, "http://")
	for i := range *n {
		c, err := openIdleWatch(ctx, host, *path)
		if err != nil {
			return fmt.Errorf("watch %d: %w", i, err)
		}
		conns = append(conns, c)
	}
	time.Sleep(*settle) // measurement pause, not a synchronisation
	runtime.KeepAlive(conns)
	after, err := idleReading(*server, *pid, *profile, *profile, *gcs)
	if err != nil {
		return err
	}
	per := func(a, b int64) float64 { return float64(b-a) / float64(*n) }
	fmt.Printf("| idle HTTP/1.1 watchers | %d |\n|---|---|\n", *n)
	fmt.Printf("| server RSS per watcher | %.0f B |\n", per(before.rss, after.rss))
	fmt.Printf("| server Go heap in use per watcher | %.0f B |\n", per(before.heap, after.heap))
	fmt.Printf("| server goroutines per watcher | %.2f |\n", per(before.goroutines, after.goroutines))
	if *profile != "" {
		fmt.Printf("| server live heap per watcher (after a forced GC) | %.0f B |\n", per(before.live, after.live))
		fmt.Printf("| server goroutine stacks per watcher | %.0f B |\n", per(before.stacks, after.stacks))
	}
	return nil
}

// memory is one reading of a server's memory; live (the heap after a
// forced collection) only where the reader asks for it.
type memory struct{ rss, heap, goroutines, live, stacks int64 }

// idleReading reads the server's memory; with profiling ("" without) it
// first forces a collection through pprof, writing the heap profile to
// file unless that is "", and adds the live heap and the stacks in use;
// gcs collections in all (the last one writes the profile).
func idleReading(server string, pid int, profiling, file string, gcs int) (memory, error) {
	if profiling == "" {
		return serverMemory(server, pid)
	}
	d := &daemonProcess{server: server}
	for range gcs - 1 {
		if _, err := d.live(context.Background(), ""); err != nil {
			return memory{}, err
		}
	}
	live, err := d.live(context.Background(), file)
	if err != nil {
		return memory{}, err
	}
	m, err := serverMemory(server, pid)
	if err != nil {
		return memory{}, err
	}
	m.live = live
	m.stacks, err = metricValue(server, "go_memstats_stack_inuse_bytes")
	return m, err
}

func serverMemory(server string, pid int) (memory, error) {
	runtime.GC()
	ps, err := measure.ReadProc(pid)
	if err != nil {
		return memory{}, err
	}
	m := memory{rss: ps.RSS}
	resp, err := http.Get(server + "/metrics")
	if err != nil {
		return memory{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "go_memstats_heap_inuse_bytes":
			m.heap = int64(v)
		case "go_goroutines":
			m.goroutines = int64(v)
		}
	}
	return m, sc.Err()
}

// openIdleWatch starts one watch (from now, no initial events) on its own
// connection and returns once the server has answered with its headers.
func openIdleWatch(ctx context.Context, host, path string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	req := "GET " + path + "?watch=1&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true HTTP/1.1\r\nHost: " + host + "\r\nAccept: application/json\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		c.Close()
		return nil, fmt.Errorf("watch answered %q: %v", strings.TrimSpace(status), err)
	}
	return c, nil
}
