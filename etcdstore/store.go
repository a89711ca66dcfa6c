package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
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

	fieldPaths     []fieldPath // parallel to res.SelectableFields
	headAPIVersion []byte      // `"apiVersion":"v1",`
	headKind       []byte      // `"kind":"Pod",`

	// corrupt holds the keys whose last value read did not decode
	// (key -> struct{}); corruptN counts them. See corrupt.go.
	corrupt  sync.Map
	corruptN atomic.Int64
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
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.initCodec()
	return s, nil
}

// initCodec derives what Decode needs from res and prefix.
func (s *Store) initCodec() {
	s.resPrefix = s.res.Prefix(s.prefix)
	for _, f := range s.res.SelectableFields {
		s.fieldPaths = append(s.fieldPaths, splitFieldPath(f))
	}
	gv, _ := json.Marshal(s.res.GroupVersion())
	kind, _ := json.Marshal(s.res.Kind)
	s.headAPIVersion = append(append([]byte(`"apiVersion":`), gv...), ',')
	s.headKind = append(append([]byte(`"kind":`), kind...), ',')
}

// Close cancels every watch opened through this store (their channels
// close) and releases the shared watch stream. The etcd client stays open.
func (s *Store) Close() error { return s.watcher.Close() }

// Resource describes what this store serves.
func (s *Store) Resource() *api.Resource { return s.res }

// KeyPrefix is the etcd prefix of the resource's keys, e.g. "/registry/pods/".
func (s *Store) KeyPrefix() string { return s.resPrefix }

// CurrentRevision returns etcd's current revision with one linearizable
// request.
func (s *Store) CurrentRevision(ctx context.Context) (uint64, error) {
	resp, err := s.client.Get(ctx, s.resPrefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, mapErr(err)
	}
	return uint64(resp.Header.Revision), nil
}

// Compacted reports whether etcd has compacted revision rev away, with one
// small serializable request (a count of at most one key at rev). The cache
// asks it before answering a continue token from its own snapshot, so a
// token etcd can no longer serve gets 410 from every replica alike (B23).
func (s *Store) Compacted(ctx context.Context, rev uint64) (bool, error) {
	_, err := s.client.Get(ctx, s.resPrefix, clientv3.WithRev(int64(rev)), clientv3.WithCountOnly(),
		clientv3.WithLimit(1), clientv3.WithSerializable())
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, rpctypes.ErrCompacted):
		return true, nil
	default:
		return false, mapErr(err)
	}
}

// CompactRevision returns etcd's compacted revision (revisions below it can
// no longer be read), given one already known (0: none). While etcd has not
// compacted past known it costs one small serializable request and returns
// known; otherwise a short-lived watch from known, which etcd answers at
// once with its compacted revision.
func (s *Store) CompactRevision(ctx context.Context, known uint64) (uint64, error) {
	compacted, err := s.Compacted(ctx, max(known, 1))
	if err != nil || !compacted {
		return known, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The resource prefix itself is never a key: the watch sees no events.
	for resp := range s.client.Watch(wctx, s.resPrefix, clientv3.WithRev(int64(max(known, 1)))) {
		if resp.CompactRevision > 0 {
			return uint64(resp.CompactRevision), nil
		}
		if err := resp.Err(); err != nil {
			return known, mapErr(err)
		}
	}
	if err := ctx.Err(); err != nil {
		return known, mapErr(err)
	}
	return known, api.Errorf(api.ErrUnavailable, "etcd watch closed before it reported the compacted revision")
}

// Compact compacts etcd's history up to rev (physically, waiting for it).
func (s *Store) Compact(ctx context.Context, rev uint64) error {
	if _, err := s.client.Compact(ctx, int64(rev), clientv3.WithCompactPhysical()); err != nil {
		return mapErr(err)
	}
	return nil
}

// decodeKV decodes a stored key-value, reporting a failure (B62).
func (s *Store) decodeKV(key, value []byte, modRev int64) (*api.Object, bool) {
	obj, err := s.decodeOne(key, value, modRev)
	return obj, err == nil
}

// decodeOne decodes the value of one key as a read of that key needs it:
// a failure is reported (B62) and returned as the ErrCorrupt a client sees.
func (s *Store) decodeOne(key, value []byte, modRev int64) (*api.Object, error) {
	obj, err := s.Decode(string(key), value, modRev)
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
