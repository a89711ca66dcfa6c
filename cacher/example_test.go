package cacher_test

import (
	"context"
	"fmt"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cacher"
	"github.com/watchcached/watchcached/etcdstore"
)

// A cache for pods over a (here: embedded) etcd: write through it, read a
// consistent list from memory, and watch from the list's resourceVersion.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "cacher-example")
	defer os.RemoveAll(dir)
	etcd, err := etcdstore.StartEmbedded(ctx, etcdstore.EmbeddedConfig{Dir: dir, Fast: true})
	if err != nil {
		panic(err)
	}
	defer etcd.Close()
	client, _ := clientv3.New(clientv3.Config{Endpoints: []string{etcd.Endpoint}, Logger: zap.NewNop()})
	defer client.Close()

	pods := &api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true,
		SelectableFields: []string{"spec.nodeName"}, IndexedFields: []string{"spec.nodeName"}}
	store, _ := etcdstore.New(etcdstore.Config{Client: client, Resource: pods})
	defer store.Close()
	c, _ := cacher.New(cacher.Config{Source: store})
	c.Start()
	defer c.Close()
	_ = c.WaitReady(ctx)

	_, _ = c.Create(ctx, "default", []byte(`{"metadata":{"name":"web-0"},"spec":{"nodeName":"node-1"}}`))
	list, _ := c.List(ctx, api.ListOptions{Namespace: "default"}) // consistent read, from memory
	fmt.Println(len(list.Items), list.Items[0].Name)

	w, _ := c.Watch(ctx, api.WatchOptions{ResourceVersion: api.FormatRV(list.RV)})
	defer w.Close()
	_, _ = c.Delete(ctx, "default", "web-0", api.Preconditions{})
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ev, _ := w.Next(wctx)
	fmt.Println(ev.Type, ev.Object.Name)
	// Output:
	// 1 web-0
	// DELETED web-0
}
