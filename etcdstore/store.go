package etcdstore

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/api"
)

// DefaultPrefix is the etcd key prefix when Config.Prefix is empty.
const DefaultPrefix = "/registry"

// Config configures a Store.
type Config struct {
	// Client is the etcd client (required). The Store does not close it.
	Client *clientv3.Client
	// Resource is the resource served (required, valid).
	Resource *api.Resource
	// Prefix is the etcd key prefix; default "/registry".
	Prefix string
	// Logger receives the store's logs; nil means slog.Default().
	Logger *slog.Logger
	// OnDecodeError, if set, is called for every value under the
	// resource's prefix that fails to decode (B62), each time it is read.
	// The store also logs once per key. Lists and watches skip such
	// values; a read of the one key fails with api.ErrCorrupt. Never
	// fatal. It must be safe for concurrent use.
	OnDecodeError func(key string, err error)
	// RequestMetrics, if set, times the store's etcd requests
	// (etcd_request_duration_seconds); shared by the stores of a process.
	RequestMetrics *RequestMetrics
	// DirectWatchBuffer is how many events a watch from Store.Watch holds
	// for a reader that has not taken them; past that the watch ends with
	// 410 (B204). 0 means DefaultDirectWatchBuffer.
	DirectWatchBuffer int
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.Client == nil {
		return errors.New("etcdstore: Config.Client is required")
	}
	if c.Resource == nil {
		return errors.New("etcdstore: Config.Resource is required")
	}
	if err := c.Resource.Validate(); err != nil {
		return fmt.Errorf("etcdstore: %w", err)
	}
	if c.Prefix != "" && c.Prefix[0] != '/' {
		return fmt.Errorf("etcdstore: prefix %q must start with '/'", c.Prefix)
	}
	return nil
}

// Store serves one resource straight from etcd. It is safe for concurrent
// use; every method is one or a few etcd requests and holds no lock while
// it waits. Close releases the watch streams it opened.
type Store struct {
	client  *clientv3.Client
	watcher clientv3.Watcher // shared by WatchEvents, Watch and RequestProgress
	res     *api.Resource
	prefix  string // etcd prefix, e.g. "/registry"
	// resPrefix is res.Prefix(prefix), e.g. "/registry/pods/".
	resPrefix string
	logger    *slog.Logger
	onDecode  func(key string, err error)
	requests  *requestObserver // nil without Config.RequestMetrics
	codec     codec            // immutable
	// directBuffer bounds each Store.Watch's queue of events (B204).
	directBuffer int
	// summaryOps is how many ranges SummarizeRanges first asks about in
	// one transaction (summaryBatch; tests raise it). Immutable.
	summaryOps int

	// corrupt holds the keys whose last value read did not decode
	// (key -> struct{}); corruptN counts them. See corrupt.go.
	corrupt  sync.Map
	corruptN atomic.Int64
	// encWarned is set once the resource's warning about values encrypted
	// at rest was logged.
	encWarned atomic.Bool
}

var _ api.Storage = (*Store)(nil)

// New builds a Store; it does not contact etcd.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{
		client:   cfg.Client,
		watcher:  clientv3.NewWatcher(cfg.Client),
		res:      cfg.Resource,
		prefix:   cfg.Prefix,
		logger:   cfg.Logger,
		onDecode: cfg.OnDecodeError,
		requests: cfg.RequestMetrics.forStore(cfg.Resource.Group, cfg.Resource.Resource),

		directBuffer: cfg.DirectWatchBuffer,
		summaryOps:   summaryBatch,
	}
	if s.directBuffer <= 0 {
		s.directBuffer = DefaultDirectWatchBuffer
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.resPrefix = s.res.Prefix(s.prefix)
	s.codec = newCodec(s.res, s.prefix)
	return s, nil
}

// Close cancels every watch opened through this store (their channels
// close) and releases the shared watch stream. The etcd client stays open.
func (s *Store) Close() error { return s.watcher.Close() }

// Resource describes what this store serves.
func (s *Store) Resource() *api.Resource { return s.res }

// KeyPrefix is the etcd prefix of the resource's keys, e.g. "/registry/pods/".
func (s *Store) KeyPrefix() string { return s.resPrefix }

// decodeKV decodes a stored key-value, reporting a failure (B62).
func (s *Store) decodeKV(key, value []byte, modRev int64) (*api.Object, bool) {
	obj, err := s.decodeOne(key, value, modRev)
	return obj, err == nil
}

// decodeOne decodes the value of one key as a read of that key needs it:
// a failure is reported (B62) and returned as the ErrCorrupt a client sees.
func (s *Store) decodeOne(key, value []byte, modRev int64) (*api.Object, error) {
	obj, err := s.decodeRecovered(s.codec.decode, string(key), value, modRev)
	if err != nil {
		s.markCorrupt(string(key), err)
		return nil, corruptError(string(key), modRev, err)
	}
	s.forgetCorrupt(string(key))
	return obj, nil
}

func (s *Store) notFound(name string) error {
	return api.ObjectNotFound(s.res, name)
}
