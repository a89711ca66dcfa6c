package api

import (
	"context"
	"iter"
)

// Storage serves one resource type. Both the direct etcd store
// (etcdstore.Store) and the cache (cacher.Cacher) implement it, and the
// conformance suite in test/ holds both to the same expectations.
// Implementations are safe for concurrent use.
//
// Every error wraps one of this package's sentinels.
type Storage interface {
	// Resource describes what this storage serves.
	Resource() *Resource

	// Get returns one object (B1-B7). namespace is "" for cluster-scoped
	// resources.
	Get(ctx context.Context, namespace, name string, opts GetOptions) (*Object, error)
	// List returns the objects matching opts, sorted by key (B10-B26).
	List(ctx context.Context, opts ListOptions) (*List, error)
	// Watch starts a watch (B30-B45). ctx bounds only the start (for
	// example waiting for freshness); the stream lives until the Watcher is
	// closed or ends.
	Watch(ctx context.Context, opts WatchOptions) (Watcher, error)

	// Create stores a new object from its JSON body (B50). namespace is the
	// namespace of the request path.
	Create(ctx context.Context, namespace string, body []byte) (*Object, error)
	// Update replaces an object with its JSON body (B51); a
	// metadata.resourceVersion in body is a precondition.
	Update(ctx context.Context, namespace, name string, body []byte) (*Object, error)
	// Patch applies a patch of one of PatchTypes to the current object
	// (B53, B75, B76), retrying on conflicts. A type the resource does not
	// accept is ErrUnsupportedMediaType.
	Patch(ctx context.Context, namespace, name string, patch Patch) (*Object, error)
	// Delete removes an object and returns its last state (B52).
	Delete(ctx context.Context, namespace, name string, pre Preconditions) (*Object, error)
}

// CorruptDeleter is implemented by storages that can remove a stored value
// that does not decode (the reads of which fail with ErrCorrupt), the way
// kube-apiserver's ignoreStoreReadErrorWithClusterBreakingPotential delete
// option does. Implementations are safe for concurrent use.
type CorruptDeleter interface {
	// DeleteCorrupt removes the value stored for namespace/name if it
	// does not decode, without preconditions (its state is unknown) and
	// without a DELETED event (no reader ever saw it). A value that
	// decodes, or none, is ErrInvalid: the option is for corrupt objects
	// only. A corrupt value that goes away during the call counts as
	// removed.
	DeleteCorrupt(ctx context.Context, namespace, name string) error
}

// CollectionDeleter is implemented by storages that serve kube-apiserver's
// deletecollection (B102). Implementations are safe for concurrent use.
type CollectionDeleter interface {
	// DeleteCollection deletes, one by one, every object that opts
	// selects (Namespace and Predicate; the list is consistent and
	// unpaged), each with the preconditions pre, and returns the list
	// it deleted from as it was listed. Objects with finalizers are
	// marked, not removed, as Delete does.
	DeleteCollection(ctx context.Context, opts ListOptions, pre Preconditions) (*List, error)
}

// Watcher is one watch stream, read by a single goroutine: Next and Close
// must not be called concurrently with each other except that Close may be
// called from any goroutine to end a Next in progress.
type Watcher interface {
	// Next blocks until the next event. It returns io.EOF when the stream
	// ended normally, ctx.Err() when ctx is done, and otherwise an error
	// wrapping a sentinel (e.g. ErrExpired) that the client is to receive
	// as an ERROR event; after any error the stream is over. The deadline
	// of ctx, if any, is the stream's deadline (bookmarks are sent shortly
	// before it, B42).
	Next(ctx context.Context) (WatchEvent, error)
	// Close ends the stream and frees what it holds. It is idempotent.
	Close()
}

// IdleNotifier is implemented by Watchers that can tell their reader when
// Next is about to block for want of events. A reader that buffers its
// output (an HTTP response) then flushes once per burst instead of once per
// event. f is called on the goroutine that called Next, before it blocks.
type IdleNotifier interface {
	NotifyIdle(f func())
}

// Readiness is implemented by storages that can be not ready (the cache).
type Readiness interface {
	// Ready reports whether the storage serves requests now.
	Ready() bool
}

// StreamLister is implemented by storages that can answer a list without
// collecting its items first (the cache: from its immutable snapshot), so
// that a frontend writes them one by one as it walks them and holds no
// per-list slice. Implementations are safe for concurrent use.
type StreamLister interface {
	// StreamList is List, except that the result may carry Seq instead
	// of Items. Seq may be walked any number of times, from any one
	// goroutine at a time, and always yields the same objects.
	StreamList(ctx context.Context, opts ListOptions) (*List, error)
}

// List is the result of a List.
type List struct {
	// Items are the objects, in key order. Nil when Seq is set.
	Items []*Object
	// Seq, set only by StreamLister.StreamList, yields the objects in
	// key order as they are walked; it pins what it walks (a snapshot)
	// for as long as the List is referenced.
	Seq iter.Seq[*Object]
	// RV is the resourceVersion the list shows; never 0.
	RV uint64
	// Continue is the token for the next page, "" on the last page.
	Continue string
	// RemainingItemCount is set when known (a limited list without
	// selectors).
	RemainingItemCount *int64
}

// Cached is implemented by storages that serve reads from a cache in
// front of a source of record (the Cacher). A read with ?cache=false is
// served by Uncached instead: that one request goes straight to the
// source, for comparison or to bypass the cache.
type Cached interface {
	// Uncached is the source the cache follows and delegates to.
	Uncached() Storage
}

// All yields the objects of l in key order, from Items or Seq.
func (l *List) All() iter.Seq[*Object] {
	if l.Seq != nil {
		return l.Seq
	}
	return func(yield func(*Object) bool) {
		for _, o := range l.Items {
			if !yield(o) {
				return
			}
		}
	}
}
