package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/compare"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/kube"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/report"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
)

// cmdUpstream measures a follower (--upstream-kubeconfig) against its
// upstream: the same reads through the follower's cache and with
// ?cache=false (proxied to the upstream), side by side.
func cmdUpstream(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("upstream", pflag.ContinueOnError)
	var cf compareFlags
	cf.register(fs)
	upstreamCache := fs.Bool("upstream-cache", true, "the upstream (an in-process watchcached) serves from its own cache; false reads etcd for every request, as an API server without a watch cache")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cf.server.Server != "" {
		return fmt.Errorf("upstream: --server is not used; the upstream is an in-process watchcached")
	}
	e, err := newEnv(ctx, cf.etcd)
	if err != nil {
		return err
	}
	defer e.close()
	if err := mkOut(cf.out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "filling %d pods\n", cf.objects)
	if _, err := fill(ctx, e.etcd, cf.objects); err != nil {
		return err
	}
	pods := &api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true}
	up, upURL, err := e.daemonURL(ctx, *upstreamCache)
	if err != nil {
		return err
	}
	if err := waitReady(ctx, up, pods); err != nil {
		return err
	}
	follower, err := e.follower(ctx, upURL, cf.out)
	if err != nil {
		return err
	}
	ts := []compare.Target{
		&compare.REST{Label: "follower (cache)", Client: follower, Res: pods},
		&compare.REST{Label: "follower ?cache=false (upstream)", Client: follower, Res: pods, Query: url.Values{"cache": {"false"}}},
	}
	res, err := compare.Run(ctx, compare.Config{Targets: ts, Namespace: "ns-3", Name: "pod-000003",
		GetClients: cf.getClients, ListClients: cf.listClients, Duration: cf.duration, Progress: os.Stderr})
	if err != nil {
		return err
	}
	if err := report.WriteJSON(join(cf.out, "upstream.json"), res); err != nil {
		return err
	}
	md := res.Markdown()
	if err := os.WriteFile(join(cf.out, "upstream.md"), []byte(md), 0o644); err != nil {
		return err
	}
	for _, w := range []string{compare.GetAny, compare.ListAny} {
		file := join(cf.out, "upstream-"+map[string]string{compare.GetAny: "get", compare.ListAny: "list"}[w]+"-cdf.png")
		if err := report.PlotCDF(file, "follower: "+w+", cache vs ?cache=false", res.Workloads[w]); err != nil {
			return err
		}
	}
	fmt.Print(md)
	return nil
}

// daemonURL is env.daemon that also returns the daemon's URL.
func (e *env) daemonURL(ctx context.Context, cache bool) (*kube.Client, string, error) {
	c, err := e.daemon(ctx, cache)
	if err != nil {
		return nil, "", err
	}
	return c, "http://" + e.daemons[len(e.daemons)-1].HTTPAddr, nil
}

// follower starts an in-process watchcached following upstreamURL (the
// default resources) and waits until it is ready.
func (e *env) follower(ctx context.Context, upstreamURL, dir string) (*kube.Client, error) {
	kc := filepath.Join(dir, "upstream.kubeconfig")
	body := "apiVersion: v1\nkind: Config\nclusters:\n- name: up\n  cluster:\n    server: " + upstreamURL +
		"\ncontexts:\n- name: up\n  context:\n    cluster: up\n    user: up\nusers:\n- name: up\n  user: {}\ncurrent-context: up\n"
	if err := os.WriteFile(kc, []byte(body), 0o600); err != nil {
		return nil, err
	}
	cfg := app.DefaultConfig()
	cfg.Listen, cfg.GRPCListen, cfg.DataDir = "127.0.0.1:0", "", ""
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Resources = app.DefaultResources()
	cfg.UpstreamKubeconfig = kc
	d, err := app.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	e.daemons = append(e.daemons, d)
	if err := d.WaitReady(ctx); err != nil {
		return nil, err
	}
	c, err := kube.New(kube.Options{Server: "http://" + d.HTTPAddr})
	if err != nil {
		return nil, err
	}
	e.clients = append(e.clients, c)
	return c, nil
}
