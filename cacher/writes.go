package cacher

import (
	"context"

	"github.com/watchcached/watchcached/api"
)

// Writes pass through to etcd (B50-B53). A write is visible to any
// consistent read issued after it returns, because such a read waits for the
// cache to reach etcd's revision (B54).

// Create stores a new object.
func (c *Cacher) Create(ctx context.Context, namespace string, body []byte) (*api.Object, error) {
	return c.store.Create(ctx, namespace, body)
}

// Update replaces an object.
func (c *Cacher) Update(ctx context.Context, namespace, name string, body []byte) (*api.Object, error) {
	return c.store.Update(ctx, namespace, name, body)
}

// Delete removes an object.
func (c *Cacher) Delete(ctx context.Context, namespace, name string, pre api.Preconditions) (*api.Object, error) {
	return c.store.Delete(ctx, namespace, name, pre)
}

// DeleteCollection deletes every selected object (api.CollectionDeleter)
// through etcd; the list it deletes from is etcd's, consistent.
func (c *Cacher) DeleteCollection(ctx context.Context, opts api.ListOptions, pre api.Preconditions) (*api.List, error) {
	return c.store.DeleteCollection(ctx, opts, pre)
}

// DeleteCorrupt removes a value that does not decode (api.CorruptDeleter).
// The cache never held it, so there is nothing to drop here.
func (c *Cacher) DeleteCorrupt(ctx context.Context, namespace, name string) error {
	return c.store.DeleteCorrupt(ctx, namespace, name)
}

// Patch applies a patch, taking the cached object as the first
// guess of the current state; etcd's compare on its RV catches a stale guess
// and the store then re-reads and retries.
func (c *Cacher) Patch(ctx context.Context, namespace, name string, patch api.Patch) (*api.Object, error) {
	return c.store.PatchWithHint(ctx, namespace, name, patch, c.hint(namespace, name))
}

// hint is the cached copy of an object, a first guess for a patch; nil
// while the cache is not ready.
func (c *Cacher) hint(namespace, name string) *api.Object {
	var hint *api.Object
	if c.Ready() && api.ValidateName("name", name) == nil {
		hint, _ = c.wc.Latest().Get(c.res.Key(c.etcdPrefix, namespace, name))
	}
	return hint
}

// UpdateStatus writes the status subresource (api.StatusWriter) through
// etcd.
func (c *Cacher) UpdateStatus(ctx context.Context, namespace, name string, body []byte) (*api.Object, error) {
	return c.store.UpdateStatus(ctx, namespace, name, body)
}

// PatchStatus patches the status subresource (api.StatusWriter), with the
// cached object as the first guess, as Patch does.
func (c *Cacher) PatchStatus(ctx context.Context, namespace, name string, patch api.Patch) (*api.Object, error) {
	return c.store.PatchStatusWithHint(ctx, namespace, name, patch, c.hint(namespace, name))
}

// Uncached is the source: what serves a read that bypasses the cache
// (api.Cached, ?cache=false).
func (c *Cacher) Uncached() api.Storage { return c.store }
