// Package faults is the fault-injection suite: watchcached in-process on a
// 3-member embedded etcd reached through loopback TCP proxies, random
// writers (single-key writes with optimistic concurrency, multi-key
// transactions, prefix deletes, lease expiries) and many HTTP and gRPC
// watchers, while members, the leader, the whole cluster, the proxied
// connections and watchcached itself fail at random points and etcd is
// compacted. A checker compares every watcher's streams and lists with
// etcd's own history, recorded live by a separate watch. Everything is
// real: no mock of etcd, of the network or of watchcached. There is no
// production code here.
//
// Environment: FAULTS_SEED (default 1) reproduces a run; FAULTS_DURATION
// (default 60s) is the length of the fault phase; FAULTS_SINGLE_KEY=1
// writes single keys only (no multi-event revisions); FAULTS_WATCHERS
// (default 30) is the number of watchers; FAULTS_VERBOSE=1 logs
// watchcached's own output.
package faults
