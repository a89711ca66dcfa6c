// Package api is the shared vocabulary of watchcached: the immutable decoded
// Object, the Event that the etcd watch produces and the cache stores, the
// options of Get, List and Watch, the Storage interface that both the direct
// etcd store and the cache implement, and the sentinel errors every layer
// speaks.
//
// It is not a Kubernetes type system: objects stay JSON bytes as they are
// served, with only the few fields the cache needs to index and filter
// (namespace, name, labels, selectable fields, resourceVersion) decoded
// beside them. Nothing here does I/O, and the package imports no other
// package of this module, so every other package can depend on it.
//
// The main trade-off is that an Object is immutable once built: the store,
// its snapshots, the event ring and every watcher share one value and its
// bytes, so nothing is copied or re-encoded per reader, at the price of
// building a new Object for every change.
package api
