package etcdstore

import "github.com/watchcached/watchcached/api"

// CodecOnly returns a Store that can Decode but has no etcd client, for
// codec tests and benchmarks (the tests live in etcdstore_test because
// etcdtest imports this package).
func CodecOnly(res *api.Resource) *Store {
	s := &Store{res: res, prefix: DefaultPrefix}
	s.resPrefix = res.Prefix(s.prefix)
	s.codec = newCodec(res, s.prefix)
	return s
}

// MergeJSON exposes mergeJSON to tests.
var MergeJSON = mergeJSON
