// Package replay drives a trace's writes into etcd at the trace's pace (or
// as fast as possible) while a population of clients reads through the
// server under test: W watchers (some with spec.nodeName field
// selectors), L listers (RV "", "0" and paginated) and G getters. It
// measures per-operation latency (HDR histograms), event delivery latency
// from the commit of each revision to its receipt by a watcher, events
// lost (any expected revision a watcher did not receive: must be 0),
// throughput over time, and the server's CPU and RSS from /proc.
//
// Delivery latency is matched by revision: the writer stamps the time at
// which etcd acknowledged each revision; watchers stamp the time each
// event's resourceVersion arrived; the two are joined after the run, so
// the hot paths share no map. The acknowledgement is at most one
// loopback round trip after the commit, so the figure may understate the
// true latency by that much, never overstate it (an event seen before
// the acknowledgement counts as 1 µs).
//
// Writes go straight to etcd (never through the server) under the keys
// the trace names, so the server under test only serves reads, as a
// watch cache in front of etcd does. Run is the single entry point; it
// owns every goroutine it starts and returns when all have ended.
package replay
