// Package watchcache holds the in-memory state of one cached resource: the
// current objects in a B-tree ordered by key (with secondary indexes on
// configured fields), a copy-on-write snapshot of them after every event
// still in the history, and a ring of recent events addressed by absolute,
// ever-increasing indexes.
//
// It is pure data structures: no goroutines, no I/O, no clock of its own (the
// writer passes the time). One writer (the cacher's reflector) applies
// relists, events and progress notifications; any number of readers take
// snapshots and copy events out of the ring under a read lock. The interval
// package builds watchers' lazy views on CopyEvents and IndexAfter.
//
// # Invariants
//
//   - Ring: events [start, end) in strictly increasing RV order, end-start <=
//     capacity, MinCapacity <= capacity <= MaxCapacity. Eviction only moves
//     start; a relist (Replace) empties the ring by moving start and end one
//     past the old end, so indexes never move backwards or repeat, and a
//     reader positioned before the relist finds itself expired.
//   - Oldest servable RV (B32): after a relist at L it is L; after evicting
//     an event with RV e it is e. A watch from any n >= oldest sees every
//     event after n.
//   - Snapshots: one per event in the ring, plus the one at the oldest
//     servable RV, in strictly increasing RV order; Snapshot(n) returns the
//     newest with RV <= n. They are pruned with ring eviction (those older
//     than the oldest servable RV), on Compact (all but the newest <= the
//     compacted revision) and on Replace (all). So memory is bounded by the
//     ring's window, not by uptime.
//   - Store: every object is in each field index exactly once, under its
//     current value of that field; a snapshot's store is never written.
//
// # Trade-off
//
// A snapshot is a B-tree Clone after every event: O(1) to take, but the next
// write to the live tree copies the nodes on its path (O(log n) nodes of at
// most 2*degree-1 items), per tree it touches (the object tree, plus an
// index tree when an indexed value changes). That buys exact-RV lists and
// consistent continue pages from memory for every RV in the window, at
// roughly a path of nodes of garbage per event. A lazier scheme (clone only
// every k events and rebuild a requested in-between state by replaying up
// to k events from the ring) would cut that by about k at the price of a
// replay per exact read; we keep the simple, always-exact form until
// profiles ask otherwise.
//
// What it is not: it does not decide when to relist, does not filter by
// selectors (beyond index lookups) and does not talk to etcd.
package watchcache
