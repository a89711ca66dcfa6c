package cacher

import (
	"context"

	"github.com/watchcached/watchcached/api"
)

// Source is what a Cacher follows and delegates to: one resource in a
// store of record, etcd (etcdstore.Store) or an API server followed by
// list and watch (upstream.Source). The Cacher depends on this interface
// only. Implementations are safe
// for concurrent use.
type Source interface {
	// Storage answers what the cache delegates (reads it cannot serve,
	// every write) and describes the resource.
	api.Storage
	// KeyPrefix is the key prefix of the resource's objects, with a
	// trailing slash (e.g. "/registry/pods/"); objects' Keys start with it.
	KeyPrefix() string

	// ListAll reads every object at one revision, in pages of pageSize,
	// and returns them with that revision.
	ListAll(ctx context.Context, pageSize int64) ([]*api.Object, uint64, error)
	// WatchEvents follows every change with RV >= fromRev (see
	// api.SourceBatch), with progress notifications; the channel closes
	// when ctx ends or after an item with Err.
	WatchEvents(ctx context.Context, fromRev uint64) <-chan api.SourceBatch
	// RequestProgress asks for a progress notification on the watches
	// WatchEvents opened.
	RequestProgress(ctx context.Context) error
	// CurrentRevision is the source's current revision, read
	// linearizably.
	CurrentRevision(ctx context.Context) (uint64, error)

	// Compacted reports whether revision rev can no longer be read;
	// CompactRevision returns the oldest revision that can, given one
	// already known (0: none).
	Compacted(ctx context.Context, rev uint64) (bool, error)
	CompactRevision(ctx context.Context, known uint64) (uint64, error)

	// KnownCorrupt reports whether the value under key was found not to
	// decode (the cache holds no object for it, yet a Get of it is a 500,
	// not a 404).
	KnownCorrupt(key string) bool
	// DeleteCorrupt removes such a value (api.CorruptDeleter).
	DeleteCorrupt(ctx context.Context, namespace, name string) error
	// DeleteCollection deletes every selected object
	// (api.CollectionDeleter).
	DeleteCollection(ctx context.Context, opts api.ListOptions, pre api.Preconditions) (*api.List, error)
	// PatchWithHint is Patch with the cache's copy of the object as a
	// first guess of the current state (it never decides alone).
	PatchWithHint(ctx context.Context, namespace, name string, patch api.Patch, hint *api.Object) (*api.Object, error)
	// UpdateStatus and PatchStatusWithHint write the status subresource
	// (api.StatusWriter); PatchStatusWithHint takes a hint as
	// PatchWithHint does.
	UpdateStatus(ctx context.Context, namespace, name string, body []byte) (*api.Object, error)
	PatchStatusWithHint(ctx context.Context, namespace, name string, patch api.Patch, hint *api.Object) (*api.Object, error)
}
