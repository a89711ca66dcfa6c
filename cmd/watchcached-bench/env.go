package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/kube"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
	"github.com/watchcached/watchcached/etcdstore"
)

// env is an etcd (embedded unless endpoints are given), a client of it,
// and the in-process daemons started on it. close stops all, clients
// before servers.
type env struct {
	endpoints []string
	etcd      *clientv3.Client
	embedded  *etcdstore.Embedded
	dir       string
	daemons   []*app.Daemon
	clients   []*kube.Client
}

func newEnv(ctx context.Context, endpoints []string) (*env, error) {
	e := &env{endpoints: endpoints}
	if len(endpoints) == 0 {
		dir, err := os.MkdirTemp("", "watchcached-bench-etcd-")
		if err != nil {
			return nil, err
		}
		e.dir = dir
		emb, err := etcdstore.StartEmbedded(ctx, etcdstore.EmbeddedConfig{Dir: dir, Fast: true, QuotaBackendBytes: 8 << 30})
		if err != nil {
			return nil, err
		}
		e.embedded, e.endpoints = emb, []string{emb.Endpoint}
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: e.endpoints, DialTimeout: 10 * time.Second, Logger: zap.NewNop(),
		MaxCallRecvMsgSize: 1 << 30})
	if err != nil {
		e.close()
		return nil, err
	}
	e.etcd = c
	return e, nil
}

// daemon starts an in-process watchcached on the env's etcd; cache false
// configures every resource with cache: false.
func (e *env) daemon(ctx context.Context, cache bool) (*kube.Client, error) {
	cfg := app.DefaultConfig()
	cfg.Listen, cfg.GRPCListen, cfg.DataDir = "127.0.0.1:0", "", ""
	cfg.EtcdServers = e.endpoints
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Resources = app.DefaultResources()
	if !cache {
		off := false
		for _, r := range cfg.Resources {
			r.Cache = &off
		}
	}
	d, err := app.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := d.WaitReady(ctx); err != nil {
		_ = d.Close(context.Background())
		return nil, err
	}
	e.daemons = append(e.daemons, d)
	c, err := kube.New(kube.Options{Server: "http://" + d.HTTPAddr})
	if err != nil {
		return nil, err
	}
	e.clients = append(e.clients, c)
	return c, nil
}

// waitReady polls /readyz-equivalent: a LIST with RV=0 that returns.
func waitReady(ctx context.Context, c *kube.Client, res *api.Resource) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		_, err := c.Read(ctx, kube.Path(res, "", ""), map[string][]string{"resourceVersion": {"0"}, "limit": {"1"}})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("server not ready: %w", err)
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

func (e *env) close() {
	for _, c := range e.clients {
		c.Close()
	}
	for i := len(e.daemons) - 1; i >= 0; i-- {
		_ = e.daemons[i].Close(context.Background())
	}
	if e.etcd != nil {
		_ = e.etcd.Close()
	}
	if e.embedded != nil {
		e.embedded.Close()
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// fill writes n ~1 KB pods over 10 namespaces and 100 nodes in
// transactions of 100, returning the last revision.
func fill(ctx context.Context, c *clientv3.Client, n int) (int64, error) {
	var ops []clientv3.Op
	var rev int64
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		resp, err := c.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return err
		}
		rev, ops = resp.Header.Revision, ops[:0]
		return nil
	}
	for i := range n {
		ns, name := fmt.Sprintf("ns-%d", i%10), fmt.Sprintf("pod-%06d", i)
		ops = append(ops, clientv3.OpPut("/registry/pods/"+ns+"/"+name, podJSON(ns, name, fmt.Sprintf("node-%d", i%100))))
		if len(ops) == 100 {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	return rev, flush()
}

func podJSON(ns, name, node string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q,"namespace":%q,"uid":"u-%s","labels":{"app":"bench"},"annotations":{"pad":"%0700d"}},"spec":{"nodeName":%q,"containers":[{"name":"c","image":"registry.example/app:1.0"}]}}`, name, ns, name, 0, node)
}
