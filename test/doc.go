// Package test holds the tests that span packages: the conformance suite
// (subpackage conformance) run against the direct etcd store and the cache
// with identical expectations, the randomized watch test that compares
// every watcher's stream with etcd's own history (B41), and the consistent
// read test (B1, B54). There is no production code here; everything runs
// on a real embedded etcd (etcdstore/etcdtest), never on a mock.
//
// Flags: -random.writes=N and -random.seed=S make the randomized watch test
// longer or reproduce a run (the seed is logged).
package test
