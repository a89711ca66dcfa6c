// Package trace is the versioned file format of watchcached-bench: a
// recorded or generated sequence of timed writes to etcd, replayed by the
// replay package against any server that speaks the Kubernetes REST API.
//
// A trace is JSON lines. The first line is a Header (format version,
// profile, seed, the resources the keys belong to, body templates, the
// periodic reads the profile asks for, and how many leading operations are
// the initial population). Every further line is one Op: a create, update
// or delete of one key at an offset from the start, with a literal body or
// a reference to a template plus the values to fill into it.
//
// What it is not: a log of reads or of responses. Readers (watchers,
// listers, getters) are the replayer's population, configured at replay
// time, so one trace can be replayed under many populations; the profile's
// own periodic reads (e.g. kep2340's one LIST per second) travel in the
// header.
//
// The trade-off: templates keep a 300,000-object trace small and fast to
// read at the cost of a substitution per op; a template body is expanded
// by plain string replacement of $-variables, so templates must be valid
// JSON once expanded and variables must not need escaping.
package trace
