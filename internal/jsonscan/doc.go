// Package jsonscan validates and compacts JSON in one hand-written pass.
//
// It exists for one hot path: every value etcdstore reads from etcd (once
// per event, per list item) must be checked to be JSON and brought to one
// compact line before the codec walks it by byte offsets. Compact does both
// at once, about three times faster than json.Compact (BenchmarkCompact),
// and agrees with encoding/json on which inputs are valid and on the output
// (FuzzCompact checks both).
//
// It is not a decoder: it builds no Go values, reports no position of a
// syntax error, and does not rewrite strings (escapes are kept as written).
// The trade-off is a few hundred lines of grammar to maintain, pinned to
// encoding/json's behaviour by that fuzz target. Functions are pure and safe
// for concurrent use.
package jsonscan
