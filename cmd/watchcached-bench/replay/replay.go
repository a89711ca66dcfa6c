package replay

import (
	"context"
	"fmt"
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
	r := newRun(&cfg)
	if err := r.prefill(ctx); err != nil {
		return nil, err
	}
	gctx, stop := context.WithCancel(ctx)
	r.startWatchers(gctx)
	r.startClients(gctx)
	r.write(gctx)
	r.drain(gctx)
	stop()
	r.wg.Wait()
	r.measureCPU()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	r.collect()
	r.prog.Done(fmt.Sprintf("%d writes, %d events, %d lost", r.res.Writes.Count, r.res.Received, r.res.Lost))
	return r.res, nil
}

// run is one replay in progress. Its phases run in this order, each
// called once from the goroutine of Run: prefill, startWatchers,
// startClients (the timeline and the readers), write, drain, then — after
// the context given to the phases is cancelled and wg waited for —
// measureCPU and collect.
//
// Concurrency: every goroutine a phase starts is in wg and ends when the
// phases' context is done (the writer's also when its ops are applied);
// they touch only the writer, the watchers, the read stats, events and
// the timeline, each safe for that use (see their types). Every other
// field belongs to Run's goroutine; collect reads the instruments only
// after wg.Wait, so it needs no lock but the read stats'.
type run struct {
	cfg       *Config
	path      string      // collection path of the trace's main resource
	pre, rest []*trace.Op // the prefill and the timed writes
	prog      *measure.Progress
	res       *Result

	wg       sync.WaitGroup // every goroutine the phases start
	w        *writer
	watchers []*watcher
	events   measure.Counter // events received by all watchers
	st       *readStats
	tl       *measure.Timeline
	cpu0     measure.ProcStat // the server's use when the clients started

	log  []commit     // set by drain: the writes, sorted by revision
	want expectations // set by drain: what the watchers must receive
}

func newRun(cfg *Config) *run {
	h := cfg.Header
	pre, rest := cfg.Ops[:h.Prefill], cfg.Ops[h.Prefill:]
	return &run{
		cfg: cfg, path: kube.Path(h.Resources[0], "", ""), pre: pre, rest: rest,
		prog: measure.NewProgress(cfg.Progress, "replay"),
		res: &Result{Profile: h.Profile, Seed: h.Seed, Params: h.Params, Speed: cfg.Speed, Prefill: len(pre),
			Watchers: cfg.Watchers, NodeWatchers: cfg.NodeWatchers},
		w: newWriter(cfg), st: newReadStats(),
	}
}

// prefill writes the leading ops and records the revision the watchers
// start from.
func (r *run) prefill(ctx context.Context) error {
	t0 := time.Now()
	startRV, err := r.w.prefill(ctx, r.pre, r.prog)
	if err != nil {
		return err
	}
	r.res.PrefillSeconds, r.res.StartRV = time.Since(t0).Seconds(), startRV
	return nil
}

// startWatchers starts the watchers from the prefill's revision and
// returns once each has its first stream open (or has ended).
func (r *run) startWatchers(ctx context.Context) {
	r.watchers = makeWatchers(r.cfg, r.w.nodes())
	var ready sync.WaitGroup // a latch, not a goroutine group
	ready.Add(len(r.watchers))
	for _, wt := range r.watchers {
		r.wg.Go(func() { wt.run(ctx, r.cfg.Server, r.path, r.res.StartRV, &r.events, ready.Done) })
	}
	ready.Wait()
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

// startClients starts the timeline, takes the server's first CPU
// reading, and starts the readers.
func (r *run) startClients(ctx context.Context) {
	r.tl = &measure.Timeline{PID: r.cfg.PID, Interval: time.Second,
		Counters: map[string]*measure.Counter{"writes": &r.w.writes, "events": &r.events, "reads": &r.st.reads}}
	r.wg.Go(func() { r.tl.Run(ctx) })
	r.cpu0, _ = measure.ReadProc(r.cfg.PID)
	r.startReaders(ctx)
}

// write applies the timed writes and returns when all are applied and
// the trace's length (scaled by Speed) has passed, or ctx is done.
func (r *run) write(ctx context.Context) {
	start := time.Now()
	length := r.cfg.Header.Length()
	if r.cfg.Speed > 0 {
		length = time.Duration(float64(length) / r.cfg.Speed)
	}
	writesDone := make(chan struct{})
	r.wg.Go(func() { defer close(writesDone); r.w.run(ctx, r.rest, start) })
	r.waitWrites(ctx, writesDone, start, length)
	r.res.Duration = time.Since(start).Seconds()
}

// waitWrites shows progress until the writes are done and the trace's
// length has passed.
func (r *run) waitWrites(ctx context.Context, done <-chan struct{}, start time.Time, length time.Duration) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	n, writes := len(r.rest), &r.w.writes
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
		r.prog.Update(frac, fmt.Sprintf("%d/%d writes", writes.Load(), n))
		select {
		case <-done:
			writesDone = true
			done = nil
		case <-tick.C:
		case <-ctx.Done():
		}
	}
}

// drain computes what each watcher must receive from the commit log and
// waits until every watcher has received the last revision it expects,
// or DrainTimeout.
func (r *run) drain(ctx context.Context) {
	d0 := time.Now()
	r.log = r.w.log()
	r.want = expect(r.log, r.res.StartRV)
	deadline := time.Now().Add(r.cfg.DrainTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		behind := 0
		for _, w := range r.watchers {
			if w.lastRV.Load() < r.want.of(w).last {
				behind++
			}
		}
		if behind == 0 {
			break
		}
		r.prog.Update(1, fmt.Sprintf("draining: %d watchers behind", behind))
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	r.res.DrainSeconds = time.Since(d0).Seconds()
}

// measureCPU records the server's CPU time since startClients (after
// every client has ended).
func (r *run) measureCPU() {
	if cpu1, err := measure.ReadProc(r.cfg.PID); err == nil && r.cfg.PID > 0 {
		r.res.CPUSeconds = (cpu1.CPU - r.cpu0.CPU).Seconds()
	}
}
