package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/compare"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/gen"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/kube"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/replay"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/report"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/trace"
)

func cmdGenerate(_ context.Context, args []string) error {
	fs := pflag.NewFlagSet("generate", pflag.ContinueOnError)
	var c gen.Config
	fs.StringVar(&c.Profile, "profile", "k8s-robustness", "profile: k8s-robustness, kep2340, pods-on-nodes")
	fs.Int64Var(&c.Seed, "seed", 1, "random seed")
	fs.Float64Var(&c.Scale, "scale", 1, "object count factor")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "churn duration after the initial population")
	fs.Float64Var(&c.Rate, "rate", 0, "churn writes/s (profile default when 0)")
	fs.Float64Var(&c.MinRate, "min-rate", 0, "k8s-robustness: lowest rate (200)")
	fs.Float64Var(&c.MaxRate, "max-rate", 0, "k8s-robustness: highest rate (1000)")
	fs.IntVar(&c.Objects, "objects", 0, "initial population (profile default when 0)")
	fs.StringVar(&c.Shape, "shape", "", "pods-on-nodes: 50x3000 or 100x1100")
	fs.IntVar(&c.Namespaces, "namespaces", 0, "pods-on-nodes: namespaces")
	fs.IntVar(&c.Pods, "pods", 0, "pods-on-nodes: pods per namespace")
	fs.IntVar(&c.Nodes, "nodes", 0, "pods-on-nodes: nodes")
	out := fs.String("out", "-", "output file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withOutput(*out, func(w io.Writer) error { return gen.Generate(w, c) })
}

func withOutput(path string, f func(io.Writer) error) error {
	if path == "-" {
		bw := bufio.NewWriter(os.Stdout)
		if err := f(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f(file); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

// serverFlags are the options to reach a server under test.
func serverFlags(fs *pflag.FlagSet) *kube.Options {
	o := &kube.Options{}
	fs.StringVar(&o.Server, "server", "", "server URL (Kubernetes REST API); empty starts watchcached in-process")
	fs.StringVar(&o.CAFile, "server-ca", "", "CA file verifying the server")
	fs.StringVar(&o.CertFile, "client-cert", "", "client certificate")
	fs.StringVar(&o.KeyFile, "client-key", "", "client key")
	fs.StringVar(&o.Token, "token", "", "bearer token")
	fs.BoolVar(&o.Insecure, "insecure-skip-tls-verify", false, "do not verify the server's certificate")
	return o
}

func cmdReplay(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("replay", pflag.ContinueOnError)
	so := serverFlags(fs)
	tracePath := fs.String("trace", "", "trace file (required)")
	etcdServers := fs.StringSlice("etcd-servers", nil, "etcd to write to (empty: embedded, with --server empty)")
	cache := fs.Bool("cache", true, "in-process server: serve from the watch cache")
	var c replay.Config
	fs.Float64Var(&c.Speed, "speed", 1, "trace clock factor; 0 = as fast as possible")
	fs.IntVar(&c.Writers, "writers", 0, "concurrent writers (default 1, 16 at speed 0)")
	fs.IntVar(&c.Watchers, "watchers", 10, "watchers")
	fs.IntVar(&c.NodeWatchers, "node-watchers", 5, "watchers with a spec.nodeName selector (of --watchers)")
	fs.IntVar(&c.Listers, "listers", 3, "listers (cycling RV \"\", \"0\", paged)")
	fs.DurationVar(&c.ListInterval, "list-interval", time.Second, "per lister")
	fs.IntVar(&c.Getters, "getters", 2, "getters")
	fs.DurationVar(&c.GetInterval, "get-interval", 10*time.Millisecond, "per getter")
	fs.StringVar(&c.GetRV, "get-rv", "", `getters' resourceVersion ("" or "0")`)
	fs.IntVar(&c.PID, "pid", 0, "server pid for CPU/RSS (in-process: this process)")
	out := fs.String("out", "bench-out", "output directory")
	name := fs.String("name", "replay", "output file base name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Open(*tracePath)
	if err != nil {
		return err
	}
	h, ops, err := trace.ReadAll(f)
	f.Close()
	if err != nil {
		return err
	}
	if so.Server == "" && len(*etcdServers) > 0 {
		return fmt.Errorf("--etcd-servers without --server: give both, or neither for an in-process run")
	}
	e, err := newEnv(ctx, *etcdServers)
	if err != nil {
		return err
	}
	defer e.close()
	if so.Server == "" {
		if c.Server, err = e.daemon(ctx, *cache); err != nil {
			return err
		}
		c.PID = os.Getpid()
	} else if c.Server, err = kube.New(*so); err != nil {
		return err
	}
	c.Etcd, c.Header, c.Ops, c.Progress = e.etcd, h, ops, os.Stderr
	res, err := replay.Run(ctx, c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	paths, err := report.WriteReplay(*out, *name, res)
	if err != nil {
		return err
	}
	fmt.Print(report.ReplayMarkdown(res))
	fmt.Fprintln(os.Stderr, "wrote", paths)
	if res.Lost > 0 {
		return fmt.Errorf("%d events lost", res.Lost)
	}
	return nil
}

func cmdRecord(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("record", pflag.ContinueOnError)
	etcdServers := fs.StringSlice("etcd-servers", nil, "etcd to record from (required)")
	prefix := fs.String("etcd-prefix", "/registry", "etcd key prefix")
	resource := fs.String("resource", "pods", "core/v1 namespaced resource to record (plural)")
	kind := fs.String("kind", "Pod", "its kind")
	fromRev := fs.Int64("from-rev", 1, "first revision to record")
	duration := fs.Duration("duration", 10*time.Second, "how long to record live events after catching up")
	out := fs.String("out", "-", "output file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(*etcdServers) == 0 {
		return fmt.Errorf("--etcd-servers is required")
	}
	e, err := newEnv(ctx, *etcdServers)
	if err != nil {
		return err
	}
	defer e.close()
	res := &api.Resource{Version: "v1", Resource: *resource, Kind: *kind, Namespaced: true}
	ops, err := record(ctx, e.etcd, res.Prefix(*prefix), *fromRev, *duration)
	if err != nil {
		return err
	}
	h := trace.Header{Format: trace.Format, Profile: "record", Prefix: *prefix, Resources: []*api.Resource{res}, Ops: len(ops),
		Params: map[string]string{"fromRev": strconv.FormatInt(*fromRev, 10)}}
	if len(ops) > 0 {
		h.Duration = ops[len(ops)-1].At
	}
	return withOutput(*out, func(w io.Writer) error {
		tw, err := trace.NewWriter(w, h)
		if err != nil {
			return err
		}
		for _, o := range ops {
			if err := tw.Write(o); err != nil {
				return err
			}
		}
		return tw.Close()
	})
}

// record watches prefix from rev for d and turns each event into an op
// timed by its arrival (history that predates the watch arrives at once).
func record(ctx context.Context, c *clientv3.Client, prefix string, rev int64, d time.Duration) ([]*trace.Op, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var ops []*trace.Op
	for resp := range c.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(rev)) {
		if err := resp.Err(); err != nil {
			return nil, err
		}
		at := time.Since(start).Microseconds()
		for _, ev := range resp.Events {
			o := &trace.Op{At: at, Key: string(ev.Kv.Key)}
			switch {
			case ev.Type == clientv3.EventTypeDelete:
				o.Type = trace.Delete
			case ev.IsCreate():
				o.Type, o.Body = trace.Create, append([]byte(nil), ev.Kv.Value...)
			default:
				o.Type, o.Body = trace.Update, append([]byte(nil), ev.Kv.Value...)
			}
			ops = append(ops, o)
		}
	}
	return ops, nil
}

func mkOut(dir string) error { return os.MkdirAll(dir, 0o755) }

func join(dir, name string) string { return filepath.Join(dir, name) }

// compareTargets builds the cache, direct and etcd targets on e (plus an
// external server when so.Server is set).
func compareTargets(ctx context.Context, e *env, so *kube.Options) ([]compare.Target, error) {
	pods := &api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true}
	cached, err := e.daemon(ctx, true)
	if err != nil {
		return nil, err
	}
	direct, err := e.daemon(ctx, false)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, cached, pods); err != nil {
		return nil, err
	}
	ts := []compare.Target{
		&compare.REST{Label: "watchcached (cache)", Client: cached, Res: pods},
		&compare.REST{Label: "watchcached (cache: false)", Client: direct, Res: pods},
		&compare.Etcd{Client: e.etcd, Prefix: pods.Prefix("/registry")},
	}
	if so.Server != "" {
		c, err := kube.New(*so)
		if err != nil {
			return nil, err
		}
		ts = append(ts, &compare.REST{Label: so.Server, Client: c, Res: pods})
	}
	return ts, nil
}
