// Package conformance is the one storage test suite of watchcached: every
// Get, List, Watch and write rule of docs/behaviours.md that the direct etcd
// store and the cache both promise, written once and run against each of
// them on a real embedded etcd, so the two cannot drift apart.
// test/conformance_test.go runs it twice, with identical expectations, and
// test/grpc_test.go once more through the gRPC frontend.
//
// It is not the place for what only one implementation does (the cache's
// readiness, bookmarks from progress, the slow-watcher policy, coalesced
// revision requests): those live in the implementation's own tests or in
// cache-only tests of package test, each saying why.
//
// The main trade-off: the suite sees a storage only through api.Storage and
// a small Fixture (a raw etcd client, a way to wait until the storage has
// caught up with a revision, and compaction), so it can only check what a
// client can observe. That is the point; it also means that scenarios which
// need a storage to forget history (B23, B32) are driven through etcd
// compaction plus enough writes to overrun the cache's ring (Fixture.History).
package conformance
