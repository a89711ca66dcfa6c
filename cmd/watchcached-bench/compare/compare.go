package compare

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/watchcached/watchcached/cmd/watchcached-bench/measure"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/report"
)

// Config is one comparison.
type Config struct {
	// Targets are compared in order; the first is the reference the
	// ratios are taken against (normally the cache).
	Targets []Target
	// Object is the (namespace, name) that GETs read.
	Namespace, Name string
	// GetClients run GETs for Duration; ListClients run full LISTs.
	GetClients, ListClients int
	Duration                time.Duration
	// PageSize is the limit of paginated lists; default 500.
	PageSize int
	// Progress receives progress lines; nil is silent.
	Progress io.Writer
}

// Result holds, per workload name, the summary of each target by name.
type Result struct {
	Targets   []string                              `json:"targets"`
	Workloads map[string]map[string]measure.Summary `json:"workloads"`
	// PageCost is, per target, (page index, mean ms) of paginated lists.
	PageCost map[string][][2]float64 `json:"pageCost"`
	Errors   map[string]int64        `json:"errors,omitempty"`
}

// Workload names.
const (
	GetConsistent  = `GET rv=""`
	GetAny         = "GET rv=0"
	ListConsistent = `LIST rv=""`
	ListAny        = "LIST rv=0"
	ListPaged      = "LIST paged (whole walk)"
)

// Run measures every workload on every target.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.PageSize == 0 {
		cfg.PageSize = 500
	}
	res := &Result{Workloads: map[string]map[string]measure.Summary{}, PageCost: map[string][][2]float64{}, Errors: map[string]int64{}}
	for _, t := range cfg.Targets {
		res.Targets = append(res.Targets, t.Name())
		if err := t.Get(ctx, cfg.Namespace, cfg.Name, ""); err != nil {
			return nil, fmt.Errorf("compare: %s: %w", t.Name(), err)
		}
	}
	steps := len(cfg.Targets) * 5
	prog := measure.NewProgress(cfg.Progress, "compare")
	step := 0
	run := func(t Target, workload string, clients int, f func(ctx context.Context) error) {
		prog.Update(float64(step)/float64(steps), t.Name()+": "+workload)
		step++
		h := measure.NewHist()
		var errs measure.Counter
		timed(ctx, clients, cfg.Duration, func(ctx context.Context) {
			t0 := time.Now()
			if err := f(ctx); err != nil {
				if ctx.Err() == nil {
					errs.Add(1)
				}
				return
			}
			h.Record(time.Since(t0))
		})
		if res.Workloads[workload] == nil {
			res.Workloads[workload] = map[string]measure.Summary{}
		}
		res.Workloads[workload][t.Name()] = h.Summary(cfg.Duration)
		if n := errs.Load(); n > 0 {
			res.Errors[t.Name()+" "+workload] = n
		}
	}
	for _, t := range cfg.Targets {
		run(t, GetConsistent, cfg.GetClients, func(ctx context.Context) error { return t.Get(ctx, cfg.Namespace, cfg.Name, "") })
		run(t, GetAny, cfg.GetClients, func(ctx context.Context) error { return t.Get(ctx, cfg.Namespace, cfg.Name, "0") })
		run(t, ListConsistent, cfg.ListClients, func(ctx context.Context) error { return t.List(ctx, "") })
		run(t, ListAny, cfg.ListClients, func(ctx context.Context) error { return t.List(ctx, "0") })
		pages := map[int]*measure.Hist{}
		run(t, ListPaged, 1, func(ctx context.Context) error { return walk(ctx, t, cfg.PageSize, pages) })
		for i := 0; pages[i] != nil; i++ {
			res.PageCost[t.Name()] = append(res.PageCost[t.Name()], [2]float64{float64(i), pages[i].Summary(0).Mean})
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	prog.Done("")
	return res, nil
}

// walk reads all pages, recording each page's latency by its index.
func walk(ctx context.Context, t Target, limit int, pages map[int]*measure.Hist) error {
	cont := ""
	for i := 0; ; i++ {
		t0 := time.Now()
		next, err := t.Page(ctx, cont, limit)
		if err != nil {
			return err
		}
		if pages[i] == nil {
			pages[i] = measure.NewHist()
		}
		pages[i].Record(time.Since(t0))
		if next == "" {
			return nil
		}
		cont = next
	}
}

// Markdown renders one table per workload with each target's figures and
// the ratio of its mean latency to the reference target's (first): above
// 1 the target is slower than the reference.
func (r *Result) Markdown() string {
	var b strings.Builder
	for _, w := range []string{GetConsistent, GetAny, ListConsistent, ListAny, ListPaged} {
		byT := r.Workloads[w]
		if byT == nil {
			continue
		}
		fmt.Fprintf(&b, "#### %s\n\n", w)
		t := &report.Table{Header: []string{"target", "requests/s", "avg ms", "p50 ms", "p99 ms", "max ms", "avg ÷ first row's avg"}}
		ref := byT[r.Targets[0]]
		for _, name := range r.Targets {
			s := byT[name]
			ratio := "—"
			if ref.Mean > 0 && name != r.Targets[0] {
				ratio = fmt.Sprintf("%.2f×", s.Mean/ref.Mean)
			}
			t.Add(name, fmt.Sprintf("%.0f", s.PerSecond), report.Ms(s.Mean), report.Ms(s.P50), report.Ms(s.P99), report.Ms(s.Max), ratio)
		}
		b.WriteString(t.String() + "\n")
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, "Errors: %v\n", r.Errors)
	}
	return b.String()
}
