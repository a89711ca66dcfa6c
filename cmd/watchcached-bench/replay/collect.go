package replay

import (
	"time"

	"github.com/watchcached/watchcached/cmd/watchcached-bench/measure"
)

// collect fills r.res from the instruments. Called after every goroutine
// of the run ended (see run).
func (r *run) collect() {
	res := r.res
	res.Timeline = r.tl.Samples()
	for _, s := range res.Timeline {
		res.RSSMax = max(res.RSSMax, s.RSS)
	}
	over := time.Duration(res.Duration * float64(time.Second))
	r.collectWrites(over)
	r.collectWatchers()
	r.collectReads(over)
}

// collectWrites merges the writer shards' histograms and counts.
func (r *run) collectWrites(over time.Duration) {
	wh := measure.NewHist()
	for _, s := range r.w.shards {
		wh.Merge(s.hist)
		r.res.Conflicts += s.conf
		r.res.WriteErrs += s.errs
	}
	r.res.Writes = wh.Summary(over)
}

// collectWatchers compares what each watcher received with what it had to
// receive, and joins the sampled receipts with the commit times.
func (r *run) collectWatchers() {
	res := r.res
	commitAt := make(map[int64]int64, len(r.log))
	for _, c := range r.log {
		commitAt[c.rev] = c.at
	}
	dh := measure.NewHist()
	for _, wt := range r.watchers {
		e := r.want.of(wt)
		n := wt.count.Load()
		res.Expected += e.count
		res.Received += n
		res.Lost += max(0, e.count-n)
		if n == e.count && wt.sum != e.sum {
			res.Lost++ // same count, other revisions
		}
		res.Disorder += wt.disorder
		res.WatchErrors += wt.errs
		for _, rc := range wt.recv {
			if at, ok := commitAt[rc[0]]; ok {
				dh.Record(time.Duration(rc[1] - at))
			}
		}
	}
	res.Delivery = dh.Summary(0)
}

// collectReads summarises the readers' histograms and errors.
func (r *run) collectReads(over time.Duration) {
	st := r.st
	r.res.Reads = map[string]measure.Summary{}
	st.mu.Lock()
	defer st.mu.Unlock()
	for name, h := range st.hists {
		r.res.Reads[name] = h.Summary(over)
	}
	if len(st.errs) > 0 {
		r.res.ReadErrors = st.errs
	}
}
