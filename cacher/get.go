package cacher

import (
	"context"
	"errors"

	"github.com/watchcached/watchcached/api"
)

// Get returns one object (B1-B7):
//
//	RV ""   consistent read from the cache, etcd if it cannot catch up in time
//	        (but the 504 of waitFresh if etcd cannot tell its revision)
//	RV "0"  the cache as it is
//	RV n    the cache once it reached n (504 after the freshness timeout)
//
// While the cache is not ready every Get is answered by etcd.
func (c *Cacher) Get(ctx context.Context, namespace, name string, opts api.GetOptions) (*api.Object, error) {
	rv, err := opts.Parse()
	if err != nil {
		return nil, err
	}
	if err := api.ValidateName("name", name); err != nil {
		return nil, err
	}
	if !c.Ready() {
		c.m.delegated.WithLabelValues("get", "not-ready").Inc()
		return c.store.Get(ctx, namespace, name, opts)
	}
	switch rv.Kind {
	case api.RVConsistent:
		if _, err := c.waitFresh(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !fallsBackToEtcd(err) {
				return nil, err
			}
			c.m.delegated.WithLabelValues("get", "freshness-timeout").Inc()
			return c.store.Get(ctx, namespace, name, opts)
		}
	case api.RVNotOlderThan:
		if err := c.waitRV(ctx, rv.N); err != nil {
			return nil, err
		}
	}
	key := c.res.Key(c.etcdPrefix, namespace, name)
	if obj, ok := c.wc.Latest().Get(key); ok {
		return obj, nil
	}
	if c.store.KnownCorrupt(key) {
		return c.getCorrupt(ctx, namespace, name)
	}
	return nil, c.notFound(name)
}

// getCorrupt answers a Get of a key the cache does not hold but whose
// value the store found corrupt (B62): etcd decides, so that the answer is
// the 500 naming the key while the value stays corrupt (and the object, or
// NotFound, once it was overwritten or removed). If etcd cannot answer,
// the cache's NotFound stands, as for any other cached read.
func (c *Cacher) getCorrupt(ctx context.Context, namespace, name string) (*api.Object, error) {
	c.m.delegated.WithLabelValues("get", "corrupt").Inc()
	obj, err := c.store.Get(ctx, namespace, name, api.GetOptions{})
	if err != nil && !errors.Is(err, api.ErrCorrupt) && !errors.Is(err, api.ErrNotFound) {
		return nil, c.notFound(name)
	}
	return obj, err
}

func (c *Cacher) notFound(name string) *api.Error {
	return api.ObjectNotFound(c.res, name)
}
