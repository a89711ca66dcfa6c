package compare

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/kube"
)

// Target is one thing to read from. Safe for concurrent use.
type Target interface {
	Name() string
	// Get reads one object with resourceVersion rv.
	Get(ctx context.Context, ns, name, rv string) error
	// List reads the whole collection with rv.
	List(ctx context.Context, rv string) error
	// Page reads one page of limit items after cont ("" first); it returns
	// the next token ("" on the last page).
	Page(ctx context.Context, cont string, limit int) (string, error)
}

// REST is a Kubernetes REST server as a Target.
type REST struct {
	Label  string
	Client *kube.Client
	Res    *api.Resource
	// Query is added to every request (e.g. cache=false); nil adds none.
	Query url.Values
}

// query is q with t.Query added.
func (t *REST) query(q url.Values) url.Values {
	for k, vs := range t.Query {
		q[k] = vs
	}
	return q
}

func (t *REST) Name() string { return t.Label }

func (t *REST) Get(ctx context.Context, ns, name, rv string) error {
	q := url.Values{}
	if rv != "" {
		q.Set("resourceVersion", rv)
	}
	_, err := t.Client.Read(ctx, kube.Path(t.Res, ns, name), t.query(q))
	return err
}

func (t *REST) List(ctx context.Context, rv string) error {
	_, err := t.Client.Read(ctx, kube.Path(t.Res, "", ""), t.query(url.Values{"resourceVersion": {rv}}))
	return err
}

func (t *REST) Page(ctx context.Context, cont string, limit int) (string, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cont != "" {
		q.Set("continue", cont)
	}
	m, err := t.Client.Page(ctx, kube.Path(t.Res, "", ""), t.query(q))
	return m.Continue, err
}

// Etcd is clientv3 straight at etcd as a Target: what a client would pay
// without any API server. RV "" is a linearizable read, "0" a
// serializable one; pages continue from the key after the last one.
type Etcd struct {
	Client *clientv3.Client
	Prefix string // e.g. "/registry/pods/"
}

func (t *Etcd) Name() string { return "etcd (clientv3)" }

func (t *Etcd) opts(rv string) []clientv3.OpOption {
	if rv == "0" {
		return []clientv3.OpOption{clientv3.WithSerializable()}
	}
	return nil
}

func (t *Etcd) Get(ctx context.Context, ns, name, rv string) error {
	resp, err := t.Client.Get(ctx, t.Prefix+ns+"/"+name, t.opts(rv)...)
	if err == nil && len(resp.Kvs) == 0 {
		return fmt.Errorf("compare: %s/%s not found in etcd", ns, name)
	}
	return err
}

func (t *Etcd) List(ctx context.Context, rv string) error {
	_, err := t.Client.Get(ctx, t.Prefix, append(t.opts(rv), clientv3.WithPrefix())...)
	return err
}

func (t *Etcd) Page(ctx context.Context, cont string, limit int) (string, error) {
	from := t.Prefix
	if cont != "" {
		from = cont
	}
	resp, err := t.Client.Get(ctx, from, clientv3.WithRange(clientv3.GetPrefixRangeEnd(t.Prefix)), clientv3.WithLimit(int64(limit)))
	if err != nil || !resp.More || len(resp.Kvs) == 0 {
		return "", err
	}
	return string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00", nil
}

// timed runs f back to back in n goroutines for d and returns when all
// stopped.
func timed(ctx context.Context, n int, d time.Duration, f func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	done := make(chan struct{}, n)
	for range n {
		go func() {
			defer func() { done <- struct{}{} }()
			for ctx.Err() == nil {
				f(ctx)
			}
		}()
	}
	for range n {
		<-done
	}
}
