// Package cacher serves one resource type from memory: a Cacher keeps exactly
// one etcd watch (through its Source, an etcdstore.Store) feeding a
// watchcache.WatchCache, and answers Get, List and Watch with kube-apiserver's resourceVersion semantics
// (docs/behaviours.md), delegating to etcd only where those semantics require it.
//
// The shape, and why:
//
//   - One reflector goroutine per Cacher is the single writer of the watch
//     cache: it lists etcd in pages at one revision, Replaces the cache, then
//     applies the watch's events and progress notifications in order. A broken
//     watch is resumed from the last applied revision; a compacted one forces a
//     relist (which expires every open watcher: never a gap).
//
//   - Watchers pull. There is no dispatcher and no per-watcher queue: each
//     watcher owns an interval.Interval over the cache's event ring and is
//     woken by a closed channel when something it may care about arrives. A
//     slow watcher therefore delays nobody; it keeps its place in the ring and
//     catches up, and only when the ring has overwritten events it still needs
//     does it end with 410 Expired.
//
//   - Objects are immutable and shared: the store, the snapshots, the ring and
//     every watcher hold the same *api.Object, whose Raw bytes are written to
//     every client as they are (encode once).
//
//   - Consistent reads (resourceVersion "") are served from the cache once it
//     provably caught up with etcd: one linearizable revision request is shared
//     by every reader that arrived before it was sent, a progress notification
//     is requested on the cache's own watch right away, and the reader waits
//     (bounded) until the cache's revision reaches etcd's. If it does not in
//     time, the read falls back to etcd.
//
// What it is not: an HTTP or gRPC frontend (package server), or a general
// object cache (objects are opaque JSON plus the few decoded fields in
// api.Object).
package cacher
