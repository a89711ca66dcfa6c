package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/compare"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/gen"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/kube"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/measure"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/replay"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/report"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/trace"
)

type compareFlags struct {
	objects, getClients, listClients int
	duration                         time.Duration
	etcd                             []string
	out                              string
	server                           *kube.Options
}

func (c *compareFlags) register(fs *pflag.FlagSet) {
	c.server = serverFlags(fs)
	fs.IntVar(&c.objects, "objects", 10000, "pods (~1 KB each) in etcd")
	fs.IntVar(&c.getClients, "get-clients", 10, "concurrent GET clients")
	fs.IntVar(&c.listClients, "list-clients", 2, "concurrent LIST clients")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "time per workload per target")
	fs.StringSliceVar(&c.etcd, "etcd-servers", nil, "etcd (empty: embedded)")
	fs.StringVar(&c.out, "out", "bench-out", "output directory")
}

func cmdCompare(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("compare", pflag.ContinueOnError)
	var cf compareFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	e, err := newEnv(ctx, cf.etcd)
	if err != nil {
		return err
	}
	defer e.close()
	res, err := runCompare(ctx, e, &cf)
	if err != nil {
		return err
	}
	fmt.Print(res.Markdown())
	return nil
}

func runCompare(ctx context.Context, e *env, cf *compareFlags) (*compare.Result, error) {
	if err := mkOut(cf.out); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "filling %d pods\n", cf.objects)
	if _, err := fill(ctx, e.etcd, cf.objects); err != nil {
		return nil, err
	}
	ts, err := compareTargets(ctx, e, cf.server)
	if err != nil {
		return nil, err
	}
	res, err := compare.Run(ctx, compare.Config{Targets: ts, Namespace: "ns-3", Name: "pod-000003",
		GetClients: cf.getClients, ListClients: cf.listClients, Duration: cf.duration, Progress: os.Stderr})
	if err != nil {
		return nil, err
	}
	if err := report.WriteJSON(join(cf.out, "compare.json"), res); err != nil {
		return nil, err
	}
	if err := os.WriteFile(join(cf.out, "compare.md"), []byte(res.Markdown()), 0o644); err != nil {
		return nil, err
	}
	for _, w := range []string{compare.GetConsistent, compare.ListConsistent} {
		file := "compare-" + strings.ToLower(strings.Fields(w)[0]) + "-cdf.png"
		if err := report.PlotCDF(join(cf.out, file), w+": latency CDF by target", res.Workloads[w]); err != nil {
			return nil, err
		}
	}
	if err := report.PlotXY(join(cf.out, "page-cost.png"), "Paginated LIST: page latency by position", "page index (limit 500)", "mean ms", res.PageCost); err != nil {
		return nil, err
	}
	return res, nil
}

func cmdReport(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("report", pflag.ContinueOnError)
	var cf compareFlags
	cf.register(fs)
	fanout := fs.IntSlice("fanout", []int{100, 1000}, "watcher counts for the fan-out replays (in-process: ≤ ~9000 by the fd limit)")
	startup := fs.Int("startup-objects", 100000, "objects for the cache start-up measurement")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t0 := time.Now()
	e, err := newEnv(ctx, cf.etcd)
	if err != nil {
		return err
	}
	defer e.close()
	var md bytes.Buffer
	fmt.Fprintf(&md, "# watchcached-bench report\n\nGenerated %s on %d CPUs (%s/%s), Go %s.\n\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	cmp, err := runCompare(ctx, e, &cf)
	if err != nil {
		return err
	}
	fmt.Fprintf(&md, "## GET/LIST: cache vs cache: false vs etcd (%d pods)\n\n%s\n", cf.objects, cmp.Markdown())
	for _, w := range *fanout {
		r, err := fanoutReplay(ctx, e, w, cf.out)
		if err != nil {
			return err
		}
		fmt.Fprintf(&md, "## Fan-out: %d watchers\n\n%s\n", w, report.ReplayMarkdown(r))
	}
	st, err := startupRun(ctx, e, *startup, cf.objects)
	if err != nil {
		return err
	}
	md.WriteString(st)
	fmt.Fprintf(&md, "\nTotal run time %.0f s.\n", time.Since(t0).Seconds())
	if err := os.WriteFile(join(cf.out, "report.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Print(md.String())
	return nil
}

// fanoutReplay replays 5 s of k8s-robustness traffic at 200-300 writes/s
// to w watchers (a tenth with node selectors) of the cache daemon.
func fanoutReplay(ctx context.Context, e *env, w int, out string) (*replay.Result, error) {
	var buf bytes.Buffer
	if err := gen.Generate(&buf, gen.Config{Profile: "k8s-robustness", Seed: 1, Duration: 5 * time.Second, MinRate: 200, MaxRate: 300, Objects: 200}); err != nil {
		return nil, err
	}
	h, ops, err := trace.ReadAll(&buf)
	if err != nil {
		return nil, err
	}
	// Start each replay from an empty namespace: the trace's creates are
	// conditional on the keys being absent.
	if _, err := e.etcd.Delete(ctx, "/registry/pods/default/", clientv3.WithPrefix()); err != nil {
		return nil, err
	}
	srv, err := e.daemon(ctx, true)
	if err != nil {
		return nil, err
	}
	res, err := replay.Run(ctx, replay.Config{Etcd: e.etcd, Server: srv, Header: h, Ops: ops, Speed: 1,
		Watchers: w, NodeWatchers: w / 10, Getters: 2, GetInterval: 10 * time.Millisecond, Listers: 0,
		PID: os.Getpid(), Progress: os.Stderr, DrainTimeout: time.Minute})
	if err != nil {
		return nil, err
	}
	if _, err := report.WriteReplay(out, fmt.Sprintf("fanout-%d", w), res); err != nil {
		return nil, err
	}
	return res, nil
}

// startupRun fills etcd up to n pods, then times a new cache daemon from
// Start to its first served LIST RV=0, and the heap it added per object.
func startupRun(ctx context.Context, e *env, n, have int) (string, error) {
	if n > have {
		fmt.Fprintf(os.Stderr, "filling to %d pods\n", n)
		if _, err := fillFrom(ctx, e, have, n); err != nil {
			return "", err
		}
	}
	pods := &api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	c, err := e.daemon(ctx, true)
	if err != nil {
		return "", err
	}
	if err := waitReady(ctx, c, pods); err != nil {
		return "", err
	}
	ready := time.Since(t0)
	h := measure.NewHist()
	for range 3 {
		t := time.Now()
		if _, err := c.Read(ctx, kube.Path(pods, "", ""), map[string][]string{"resourceVersion": {"0"}}); err != nil {
			return "", err
		}
		h.Record(time.Since(t))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(max(n, have))
	t := &report.Table{Header: []string{"figure", "value"}}
	t.Add(fmt.Sprintf("start-up to first LIST RV=0 (%d pods)", max(n, have)), fmt.Sprintf("%.2f s", ready.Seconds()))
	t.Add("LIST RV=0 of all pods afterwards (mean of 3)", report.Ms(h.Summary(0).Mean)+" ms")
	t.Add("heap added per object (in-process, after GC)", fmt.Sprintf("%.0f B", per))
	return "## Cache start-up and memory\n\n" + t.String(), nil
}

func fillFrom(ctx context.Context, e *env, from, to int) (int64, error) {
	_, err := fill(ctx, e.etcd, to) // rewrites the first `from` pods unchanged: simple, and cheap next to the rest
	return 0, err
}
