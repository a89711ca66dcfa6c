package api

import "errors"

// SourceBatch is one item of a source's watch (what a cache follows): the
// events of one or more whole revisions, a progress notification, or the
// final error. A plain value.
type SourceBatch struct {
	// Events are changes in revision order; every event of a revision is in
	// the same batch, in the source's order.
	Events []*Event
	// Progress, when non-zero, is a progress notification: every event
	// with RV <= Progress has been delivered.
	Progress uint64
	// Err, when set, is the last item. It wraps ErrExpired when the watch
	// cannot go on without a gap (its start was compacted, or an event came
	// without its previous value: ErrMissingPrev): the reader must relist.
	// Any other error: the reader may watch again from the last revision
	// it applied.
	Err error
}

// ErrMissingPrev is matched by the error that ends a source's watch whose
// event came without the previous value it was asked for, so a delete or a
// selector transform (B40) cannot be computed. That error also wraps
// ErrExpired (HTTP 410); this marker only lets a reader count the cause.
var ErrMissingPrev = errors.New("api: watch event without its previous value")

// ErrTooSlow is matched by the error that ends a watch whose reader fell
// so far behind that the storage's bounded buffer for it filled up (a
// watch served straight from etcd, B204). That error also wraps
// ErrExpired (HTTP 410: relist); this marker only lets the server count
// the cause.
var ErrTooSlow = errors.New("api: watcher too slow")

// KeyRevision is a key and the revision of its current value, as a source
// lists them without values (a cache's consistency check compares these).
type KeyRevision struct {
	Key string
	RV  uint64
}

// KeyRange is the keys from Begin (included) to End (excluded) of one
// resource; End "" reaches the end of the resource's key prefix.
type KeyRange struct {
	Begin, End string
}

// RangeSummary is what a source tells of a KeyRange at one revision
// without listing its keys: how many keys it holds and the highest mod
// revision among them (0 when it is empty).
type RangeSummary struct {
	Count int64
	MaxRV uint64
}
