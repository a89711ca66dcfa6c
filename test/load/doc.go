// Package load holds the opt-in load and soak tests of issue 10 (B205-B207):
// many watchers under a steady write rate, stalled list and watch clients,
// and an overload of the in-flight limit. They run only with
// WATCHCACHED_LOAD=1 (never in the default `go test ./...`), against a
// daemon in a process of its own (this test binary started again in daemon
// mode, with a fast embedded etcd) so that its RSS is the server's alone.
// See docs/BENCHMARKS.md for the figures and how to run them.
package load
