package etcdstore

import (
	"log/slog"

	"github.com/watchcached/watchcached/api"
)

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

// DecodeRecovered exposes Store.decodeRecovered with a decode function of
// the test's and a logger (CodecOnly stores have none).
func DecodeRecovered(s *Store, log *slog.Logger, decode func(string, []byte, int64) (*api.Object, error),
	key string, value []byte, modRev int64) (*api.Object, error) {
	s.logger = log
	return s.decodeRecovered(decode, key, value, modRev)
}

// DirectWatchEnded is closed once the etcd watch behind w (a watcher of
// Store.Watch) has ended: cancelled by its bounded queue (B204), closed,
// or ended by etcd.
func DirectWatchEnded(w api.Watcher) <-chan struct{} { return w.(*watcher).q.done }

// InternMax exposes internMax to tests.
const InternMax = internMax

// SetSummaryBatch makes SummarizeRanges first ask about n ranges per
// transaction, before any use of s.
func SetSummaryBatch(s *Store, n int) { s.summaryOps = n }
