package cacher

import (
	"sort"
	"time"
)

// revisionSamples remember the revisions that Health's etcd probes saw and
// when, so that the lag of a cache at revision rv can be told in time: the
// time since the cache last held everything etcd had committed, as far as
// the probes know. A time is what an operator can compare with a grace
// period, and it does not depend on the write rate; a count of revisions
// would, and an idle resource's cache trails etcd's revision (moved by the
// other resources' writes) until its next progress notification anyway.
//
// Not safe for concurrent use: Health guards it with its mu.
type revisionSamples struct {
	// s holds strictly increasing revisions with increasing times, at most
	// maxRevisionSamples of them. Beyond that the newest one absorbs new
	// revisions (keeping its first time), which can only make a lag look
	// longer, never shorter.
	s []revisionSample
}

type revisionSample struct {
	rev         uint64
	first, last time.Time // when probes first and last saw rev as etcd's current revision
}

// maxRevisionSamples bounds the history: at one probe a second and with a
// cache stuck, a few minutes; by then its check has long failed.
const maxRevisionSamples = 256

// add records that etcd's current revision was rev at now. A revision
// below the newest one means a different or restored etcd: the history
// restarts from it.
func (r *revisionSamples) add(rev uint64, now time.Time) {
	n := len(r.s)
	switch {
	case n > 0 && r.s[n-1].rev == rev:
		r.s[n-1].last = now
	case n > 0 && r.s[n-1].rev > rev:
		r.s = append(r.s[:0], revisionSample{rev: rev, first: now, last: now})
	case n == maxRevisionSamples:
		r.s[n-1].rev, r.s[n-1].last = rev, now
	default:
		r.s = append(r.s, revisionSample{rev: rev, first: now, last: now})
	}
}

// lag is how long a cache at revision rv has been behind etcd at now: 0
// when it holds the newest revision seen; else the time since a probe last
// saw a revision the cache holds (an upper bound, off by at most one probe
// interval); else, when the cache is behind every sample, since the oldest
// sample was first seen.
func (r *revisionSamples) lag(rv uint64, now time.Time) time.Duration {
	n := len(r.s)
	if n == 0 || rv >= r.s[n-1].rev {
		return 0
	}
	i := sort.Search(n, func(i int) bool { return r.s[i].rev > rv }) // the first sample beyond rv
	since := r.s[0].first
	if i > 0 {
		since = r.s[i-1].last
	}
	return max(now.Sub(since), 0)
}

// newest is the newest revision seen, 0 before any.
func (r *revisionSamples) newest() uint64 {
	if len(r.s) == 0 {
		return 0
	}
	return r.s[len(r.s)-1].rev
}

// prune drops the samples no cache needs: those older than the newest one
// at or below minRV, the lowest revision of any cache.
func (r *revisionSamples) prune(minRV uint64) {
	k := sort.Search(len(r.s), func(i int) bool { return r.s[i].rev > minRV }) - 1
	if k > 0 {
		r.s = append(r.s[:0], r.s[k:]...)
	}
}
