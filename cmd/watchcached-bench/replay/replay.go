package replay

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/watchcached/watchcached/cmd/watchcached-bench/kube"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/measure"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/trace"
)

// Run replays cfg's trace: prefill, then the population and the timed
// writes, then a drain until every watcher has every event (or
// DrainTimeout). It returns when every goroutine it started has ended.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	h := cfg.Header
	pre, rest := cfg.Ops[:h.Prefill], cfg.Ops[h.Prefill:]
	res := &Result{Profile: h.Profile, Seed: h.Seed, Params: h.Params, Speed: cfg.Speed, Prefill: len(pre),
		Watchers: cfg.Watchers, NodeWatchers: cfg.NodeWatchers}
	prog := measure.NewProgress(cfg.Progress, "replay")

	w := newWriter(&cfg)
	t0 := time.Now()
	startRV, err := w.prefill(ctx, pre, prog)
	if err != nil {
		return nil, err
	}
	res.PrefillSeconds, res.StartRV = time.Since(t0).Seconds(), startRV

	mainRes := h.Resources[0]
	path := kube.Path(mainRes, "", "")
	events := &measure.Counter{}
	watchers := makeWatchers(&cfg, w.nodes())
	wctx, stopWatchers := context.WithCancel(ctx)
	defer stopWatchers()
	var wwg, ready sync.WaitGroup
	for _, wt := range watchers {
		ready.Add(1)
		wwg.Go(func() { wt.run(wctx, cfg.Server, path, startRV, events, ready.Done) })
	}
	ready.Wait()

	st := newReadStats()
	tl := &measure.Timeline{PID: cfg.PID, Interval: time.Second,
		Counters: map[string]*measure.Counter{"writes": &w.writes, "events": events, "reads": &st.reads}}
	tctx, stopTimeline := context.WithCancel(ctx)
	var twg sync.WaitGroup
	twg.Go(func() { tl.Run(tctx) })
	cpu0, _ := measure.ReadProc(cfg.PID)

	rctx, stopReaders := context.WithCancel(ctx)
	var rwg sync.WaitGroup
	startReaders(rctx, &rwg, &cfg, prefillKeys(h, pre), st)

	start := time.Now()
	length := h.Length()
	if cfg.Speed > 0 {
		length = time.Duration(float64(length) / cfg.Speed)
	}
	writesDone := make(chan struct{})
	go func() { defer close(writesDone); w.run(ctx, rest, start) }()
	waitWrites(ctx, writesDone, start, length, len(rest), &w.writes, prog)
	res.Duration = time.Since(start).Seconds()

	d0 := time.Now()
	log := w.log()
	all, byNode := expectations(log, startRV)
	drain(ctx, watchers, all, byNode, cfg.DrainTimeout, prog)
	res.DrainSeconds = time.Since(d0).Seconds()

	stopReaders()
	rwg.Wait()
	stopWatchers()
	wwg.Wait()
	if cpu1, err := measure.ReadProc(cfg.PID); err == nil && cfg.PID > 0 {
		res.CPUSeconds = (cpu1.CPU - cpu0.CPU).Seconds()
	}
	stopTimeline()
	twg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res.Timeline = tl.Samples()
	for _, s := range res.Timeline {
		res.RSSMax = max(res.RSSMax, s.RSS)
	}
	collect(res, w, log, watchers, all, byNode, st)
	prog.Done(fmt.Sprintf("%d writes, %d events, %d lost", res.Writes.Count, res.Received, res.Lost))
	return res, nil
}

func makeWatchers(cfg *Config, nodes []string) []*watcher {
	ws := make([]*watcher, cfg.Watchers)
	for i := range ws {
		ws[i] = &watcher{sample: i < cfg.LatencySample}
		if i < cfg.NodeWatchers && len(nodes) > 0 {
			ws[i].node = nodes[i%len(nodes)]
		}
	}
	return ws
}

// startReaders starts the listers, getters and the trace's own reads.
func startReaders(ctx context.Context, wg *sync.WaitGroup, cfg *Config, keys []string, st *readStats) {
	h := cfg.Header
	path := kube.Path(h.Resources[0], "", "")
	for i := range cfg.Listers {
		mode := cfg.ListModes[i%len(cfg.ListModes)]
		wg.Go(func() {
			every(ctx, cfg.ListInterval, func() { list(ctx, cfg.Server, path, mode, ListName(mode), cfg.PageSize, nil, st) })
		})
	}
	if len(keys) > 0 {
		for i := range cfg.Getters {
			r := rand.New(rand.NewPCG(uint64(h.Seed), uint64(i)))
			wg.Go(func() {
				every(ctx, cfg.GetInterval, func() { get(ctx, cfg.Server, h, keys, cfg.GetRV, r, st) })
			})
		}
	}
	for _, rd := range h.Reads {
		if rd.Verb != "list" || rd.PerSecond <= 0 {
			continue
		}
		q := url.Values{}
		if rd.LabelSelector != "" {
			q.Set("labelSelector", rd.LabelSelector)
		}
		if rd.FieldSelector != "" {
			q.Set("fieldSelector", rd.FieldSelector)
		}
		mode := rd.ResourceVersion
		if rd.Limit > 0 {
			mode = "paged"
		}
		iv := time.Duration(float64(time.Second) / rd.PerSecond)
		name := "profile " + ListName(mode) + " " + q.Encode()
		wg.Go(func() {
			every(ctx, iv, func() { list(ctx, cfg.Server, path, mode, name, max(rd.Limit, 1), q, st) })
		})
	}
}

// prefillKeys are the main resource's keys the prefill created.
func prefillKeys(h *trace.Header, pre []*trace.Op) []string {
	p := h.Resources[0].Prefix(h.Prefix)
	var keys []string
	for _, o := range pre {
		if o.Type == trace.Create && len(o.Key) > len(p) && o.Key[:len(p)] == p {
			keys = append(keys, o.Key)
		}
	}
	return keys
}

// waitWrites shows progress until the writes are done and the trace's
// length has passed.
func waitWrites(ctx context.Context, done <-chan struct{}, start time.Time, length time.Duration, n int, writes *measure.Counter, prog *measure.Progress) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	writesDone := false
	for {
		el := time.Since(start)
		if writesDone && el >= length || ctx.Err() != nil {
			return
		}
		frac := float64(writes.Load()) / float64(max(n, 1))
		if length > 0 {
			frac = min(frac, el.Seconds()/length.Seconds())
		}
		prog.Update(frac, fmt.Sprintf("%d/%d writes", writes.Load(), n))
		select {
		case <-done:
			writesDone = true
			done = nil
		case <-tick.C:
		case <-ctx.Done():
		}
	}
}

// drain waits until every watcher has received the last revision it
// expects, or timeout.
func drain(ctx context.Context, ws []*watcher, all expectation, byNode map[string]expectation, timeout time.Duration, prog *measure.Progress) {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		behind := 0
		for _, w := range ws {
			e := all
			if w.node != "" {
				e = byNode[w.node]
			}
			if w.lastRV.Load() < e.last {
				behind++
			}
		}
		if behind == 0 {
			return
		}
		prog.Update(1, fmt.Sprintf("draining: %d watchers behind", behind))
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
}

// collect fills res from the instruments after every goroutine ended.
func collect(res *Result, w *writer, log []commit, ws []*watcher, all expectation, byNode map[string]expectation, st *readStats) {
	over := time.Duration(res.Duration * float64(time.Second))
	wh := measure.NewHist()
	for _, s := range w.shards {
		wh.Merge(s.hist)
		res.Conflicts += s.conf
		res.WriteErrs += s.errs
	}
	res.Writes = wh.Summary(over)
	commitAt := make(map[int64]int64, len(log))
	for _, c := range log {
		commitAt[c.rev] = c.at
	}
	dh := measure.NewHist()
	for _, wt := range ws {
		e := all
		if wt.node != "" {
			e = byNode[wt.node]
		}
		n := wt.count.Load()
		res.Expected += e.count
		res.Received += n
		res.Lost += max(0, e.count-n)
		if n == e.count && wt.sum != e.sum {
			res.Lost++ // same count, other revisions
		}
		res.Disorder += wt.disorder
		res.WatchErrors += wt.errs
		for _, r := range wt.recv {
			if at, ok := commitAt[r[0]]; ok {
				dh.Record(time.Duration(r[1] - at))
			}
		}
	}
	res.Delivery = dh.Summary(0)
	res.Reads = map[string]measure.Summary{}
	st.mu.Lock()
	defer st.mu.Unlock()
	for name, h := range st.hists {
		res.Reads[name] = h.Summary(over)
	}
	if len(st.errs) > 0 {
		res.ReadErrors = st.errs
	}
}
