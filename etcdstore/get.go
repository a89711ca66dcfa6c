package etcdstore

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
)

// Get returns one object (B1-B7 for direct etcd). RV "" is a linearizable
// read; "0" or n a serializable one, and n newer than the revision read at
// is ErrTooLargeRV. A value that does not decode is ErrCorrupt naming the
// key (B62).
func (s *Store) Get(ctx context.Context, namespace, name string, opts api.GetOptions) (*api.Object, error) {
	rv, err := opts.Parse()
	if err != nil {
		return nil, err
	}
	if err := api.ValidateName("name", name); err != nil {
		return nil, err
	}
	var ops []clientv3.OpOption
	if rv.Kind != api.RVConsistent {
		ops = append(ops, clientv3.WithSerializable())
	}
	key := s.key(namespace, name)
	begin := time.Now()
	resp, err := s.client.Get(ctx, key, ops...)
	s.requests.observe("get", begin)
	if err != nil {
		return nil, mapErr(err)
	}
	if cur := uint64(resp.Header.Revision); rv.N > cur {
		return nil, api.TooLargeRV(rv.N, cur)
	}
	if len(resp.Kvs) == 0 {
		s.forgetCorrupt(key)
		return nil, s.notFound(name)
	}
	kv := resp.Kvs[0]
	return s.decodeOne(kv.Key, kv.Value, kv.ModRevision)
}

// key is the etcd key of an object; the namespace is dropped for a
// cluster-scoped resource.
func (s *Store) key(namespace, name string) string {
	if !s.res.Namespaced {
		namespace = ""
	}
	return s.res.Key(s.prefix, namespace, name)
}
