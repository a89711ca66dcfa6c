package cacher

import (
	"context"

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
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := api.ValidateName("name", name); err != nil {
		return nil, err
	}
	if !c.Ready() {
		c.m.delegated.WithLabelValues("get", "not-ready").Inc()
		return c.store.Get(ctx, namespace, name, opts)
	}
	switch opts.ResourceVersion {
	case "":
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
	case "0":
	default:
		rv, _ := api.ParseRV("resourceVersion", opts.ResourceVersion) // validated above
		if err := c.waitRV(ctx, rv); err != nil {
			return nil, err
		}
	}
	key := c.res.Key(c.etcdPrefix, namespace, name)
	if obj, ok := c.wc.Latest().Get(key); ok {
		return obj, nil
	}
	return nil, c.notFound(name)
}

func (c *Cacher) notFound(name string) *api.Error {
	return api.Errorf(api.ErrNotFound, "%s %q not found", c.res.GroupResource(), name)
}
