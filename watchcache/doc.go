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
//   - Ring: events [start, end) in RV order, end-start <=
//     capacity, MinCapacity <= capacity <= MaxCapacity. Eviction only moves
//     start; a relist (Replace) empties the ring by moving start and end one
//     past the old end, so indexes never move backwards or repeat, and a
//     reader positioned before the relist finds itself expired. One etcd
//     revision can hold many events (a transaction, a prefix delete, a
//     lease expiry): they share its RV and are applied in one step (Apply),
//     so readers see all of a revision or none of it.
//   - Oldest servable RV (B32): after a relist at L it is L; after evicting
//     an event with RV e it is e. A watch from any n >= oldest sees every
//     event after n.
//   - Past states: the store as it was at any RV from the floor (the oldest
//     servable RV, or later if Compact raised it) up to the cache RV can be
//     read. They are kept as frozen checkpoints (copy-on-write clones taken
//     every CheckpointEvery events, and at every relist) plus the log of
//     events since the oldest needed checkpoint; Snapshot(n) finds the
//     newest checkpoint <= n in O(log n) and replays the fewer than
//     CheckpointEvery events after it on a private clone. Checkpoints and log
//     are pruned with ring eviction, on Compact and on Replace, so memory
//     is bounded by the ring's window, not by uptime. Only the newest
//     checkpoint keeps the field indexes (B256): reads of the latest state
//     walk an index, reads of a past state filter a scan of its objects.
//   - Store: every object is in each field index exactly once, under its
//     current value of that field; a snapshot's store is never written.
//
// # Trade-off
//
// A B-tree Clone is O(1), but the next write to the live tree then copies
// every node on its path (O(log n) nodes of up to 2*degree-1 items), per
// tree it touches. Cloning after every event makes every past state free to
// read but costs a path of garbage per event, and keeps a path per event
// alive for the whole window. Cloning every CheckpointEvery (default 32)
// events shares the upper nodes' copies among those events (roughly a leaf
// and one inner node remain per event), at the price of a replay of up to
// CheckpointEvery-1 events (and its garbage) when a reader asks for a state
// between checkpoints. Rebuilt states are kept in a small recent set, so the
// pages of one list, or many lists at the same cache RV, rebuild once.
// When readers keep asking for the latest state, the writer checkpoints
// after every event instead (each reader of the latest state leaves it a
// flag), so reads of the current state stay cheap under a steady
// read load and writes stay cheap without one. CheckpointEvery=1 is the
// plain "snapshot per event" form.
//
// The field indexes are what made history expensive: an index spreads
// writes over its values (pods over nodes), so after each checkpoint
// nearly every write copies an index leaf of its own, and every
// checkpoint kept its copies (about 2 KB per event of history with pods
// over 100 nodes). So when the writer adds a checkpoint, the previous
// newest is replaced by a copy without indexes: its index nodes are freed
// once no reader holds it, and a past state answers AscendIndex with a
// filtered scan of its objects, O(objects under the prefix) instead of
// O(log n + matches), with the same objects in the same order. Past
// states are read by exact-RV lists and the continue pages of paginated
// lists; the states readers ask for most, the latest, keep their indexes.
//
// What it is not: it does not decide when to relist, does not filter by
// selectors (beyond index lookups) and does not talk to etcd.
package watchcache
