package faults

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// writer does random writes until its context ends: single-key creates,
// updates and deletes with optimistic concurrency (straight to etcd, some
// through watchcached's HTTP API) and, unless singleKey, multi-key
// transactions, prefix deletes and keys on short leases left to expire.
// Failed writes (faults) are counted and retried later; whether a timed-out
// write happened is learned from etcd's history, never assumed.
type writer struct {
	cl        *clientv3.Client // direct to every member
	rng       *rand.Rand       // owned by the writer's goroutine
	gens      *atomic.Int64    // shared: unique versions
	singleKey bool
	base      string // watchcached's HTTP base URL
	st        *stats
}

func (w *writer) run(ctx context.Context) {
	for ctx.Err() == nil {
		opCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		op, err := w.once(opCtx)
		cancel()
		if err != nil {
			w.st.add("write failed", 1)
		} else {
			w.st.add("write "+op, 1)
		}
		sleep(ctx, time.Duration(3+w.rng.IntN(10))*time.Millisecond) // the client's own pace
	}
}

func (w *writer) once(ctx context.Context) (string, error) {
	n := w.rng.IntN(100)
	switch {
	case w.singleKey || n < 70:
		if n%10 == 0 {
			return "http", w.httpWrite(ctx)
		}
		return "single", w.single(ctx)
	case n < 88:
		return "txn", w.txn(ctx)
	case n < 92:
		return "prefix-delete", w.prefixDelete(ctx)
	default:
		return "lease", w.lease(ctx)
	}
}

func (w *writer) randomObj() *obj {
	r := resources[w.rng.IntN(len(resources))]
	return &obj{res: r.name, ns: namespaces[w.rng.IntN(len(namespaces))], name: fmt.Sprintf("o%d", w.rng.IntN(namesPerNamespace)),
		color: colors[w.rng.IntN(len(colors))], node: nodes[w.rng.IntN(len(nodes))], gen: w.gens.Add(1)}
}

func etcdKey(o *obj) string { return etcdPrefix + "/" + o.res + "/" + o.ns + "/" + o.name }

// single creates, updates or deletes one key, guarded by its mod revision.
func (w *writer) single(ctx context.Context) error {
	o := w.randomObj()
	key := etcdKey(o)
	cur, err := w.cl.Get(ctx, key)
	if err != nil {
		return err
	}
	var mod int64
	if len(cur.Kvs) > 0 {
		mod = cur.Kvs[0].ModRevision
	}
	op := clientv3.OpPut(key, o.value())
	if mod != 0 && w.rng.IntN(100) < 25 {
		op = clientv3.OpDelete(key)
	}
	_, err = w.cl.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", mod)).Then(op).Commit()
	return err
}

// txn writes 2-5 keys (of both resources) in one transaction: one etcd
// revision with several events.
func (w *writer) txn(ctx context.Context) error {
	keys := map[string]*obj{}
	for len(keys) < 2+w.rng.IntN(4) {
		o := w.randomObj()
		keys[etcdKey(o)] = o
	}
	var gets []clientv3.Op
	for k := range keys {
		gets = append(gets, clientv3.OpGet(k))
	}
	cur, err := w.cl.Txn(ctx).Then(gets...).Commit()
	if err != nil {
		return err
	}
	var cmps []clientv3.Cmp
	var ops []clientv3.Op
	for i, op := range gets {
		key := string(op.KeyBytes())
		var mod int64
		if kvs := cur.Responses[i].GetResponseRange().Kvs; len(kvs) > 0 {
			mod = kvs[0].ModRevision
		}
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", mod))
		if mod != 0 && w.rng.IntN(100) < 30 {
			ops = append(ops, clientv3.OpDelete(key))
		} else {
			ops = append(ops, clientv3.OpPut(key, keys[key].value()))
		}
	}
	_, err = w.cl.Txn(ctx).If(cmps...).Then(ops...).Commit()
	return err
}

// prefixDelete removes every object of one resource in one namespace in
// one revision (etcdctl del --prefix).
func (w *writer) prefixDelete(ctx context.Context) error {
	r := resources[w.rng.IntN(len(resources))]
	_, err := w.cl.Delete(ctx, r.prefix()+namespaces[w.rng.IntN(len(namespaces))]+"/", clientv3.WithPrefix())
	return err
}

// lease writes 2-4 keys on a new 1 s lease in one transaction and lets the
// lease expire: etcd then deletes them all in one revision.
func (w *writer) lease(ctx context.Context) error {
	l, err := w.cl.Grant(ctx, 1)
	if err != nil {
		return err
	}
	var ops []clientv3.Op
	seen := map[string]bool{}
	for range 2 + w.rng.IntN(3) {
		o := w.randomObj()
		if k := etcdKey(o); !seen[k] {
			seen[k] = true
			ops = append(ops, clientv3.OpPut(k, o.value(), clientv3.WithLease(l.ID)))
		}
	}
	_, err = w.cl.Txn(ctx).Then(ops...).Commit()
	return err
}

// httpWrite creates, updates or deletes one object through watchcached's
// HTTP API with the RV read from it as precondition.
func (w *writer) httpWrite(ctx context.Context) error {
	o := w.randomObj()
	coll := fmt.Sprintf("%s/api/v1/namespaces/%s/%s", w.base, o.ns, o.res)
	code, body, err := httpCall(ctx, http.MethodGet, coll+"/"+o.name, "")
	if err != nil {
		return err
	}
	switch {
	case code == http.StatusNotFound:
		code, _, err = httpCall(ctx, http.MethodPost, coll, o.value())
	case code != http.StatusOK:
		return fmt.Errorf("get: %d", code)
	default:
		cur, derr := decodeObj(o.res, body)
		if derr != nil {
			return derr
		}
		if w.rng.IntN(100) < 25 {
			code, _, err = httpCall(ctx, http.MethodDelete, coll+"/"+o.name,
				fmt.Sprintf(`{"preconditions":{"resourceVersion":"%d"}}`, cur.resourceVersion))
		} else {
			withRV := bytes.Replace([]byte(o.value()), []byte(`"metadata":{`),
				fmt.Appendf(nil, `"metadata":{"resourceVersion":"%d",`, cur.resourceVersion), 1)
			code, _, err = httpCall(ctx, http.MethodPut, coll+"/"+o.name, string(withRV))
		}
	}
	if err == nil && code >= 300 {
		err = fmt.Errorf("write: %d", code)
	}
	return err
}

func httpCall(ctx context.Context, method, url, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// sleep waits d or until ctx ends: the pace of a simulated client, never
// a synchronisation.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
