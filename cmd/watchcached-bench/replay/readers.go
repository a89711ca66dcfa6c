package replay

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/watchcached/watchcached/cmd/watchcached-bench/kube"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/measure"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/trace"
)

// readStats collects the readers' histograms by operation name. Safe for
// concurrent use.
type readStats struct {
	mu    sync.Mutex
	hists map[string]*measure.Hist // guarded by mu
	errs  map[string]int64         // guarded by mu
	reads measure.Counter
}

func newReadStats() *readStats {
	return &readStats{hists: map[string]*measure.Hist{}, errs: map[string]int64{}}
}

func (s *readStats) hist(name string) *measure.Hist {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hists[name]
	if !ok {
		h = measure.NewHist()
		s.hists[name] = h
	}
	return h
}

// done records one read named name that started at t0 and ended with
// err: its latency, or a failure unless ctx was done (a read cut short by
// the end of the run is not an error).
func (s *readStats) done(ctx context.Context, name string, t0 time.Time, err error) {
	if err == nil {
		s.hist(name).Record(time.Since(t0))
		s.reads.Add(1)
		return
	}
	if ctx.Err() == nil {
		s.mu.Lock()
		s.errs[name]++
		s.mu.Unlock()
	}
}

// startReaders starts, in r.wg, the listers, the getters and the trace's
// own reads, all ending with ctx.
func (r *run) startReaders(ctx context.Context) {
	cfg := r.cfg
	for i := range cfg.Listers {
		mode := cfg.ListModes[i%len(cfg.ListModes)]
		r.wg.Go(func() {
			every(ctx, cfg.ListInterval, func() { list(ctx, cfg.Server, r.path, mode, ListName(mode), cfg.PageSize, nil, r.st) })
		})
	}
	if keys := r.prefillKeys(); len(keys) > 0 {
		for i := range cfg.Getters {
			rnd := rand.New(rand.NewPCG(uint64(cfg.Header.Seed), uint64(i)))
			r.wg.Go(func() {
				every(ctx, cfg.GetInterval, func() { get(ctx, cfg.Server, cfg.Header, keys, cfg.GetRV, rnd, r.st) })
			})
		}
	}
	for _, rd := range cfg.Header.Reads {
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
		r.wg.Go(func() {
			every(ctx, iv, func() { list(ctx, cfg.Server, r.path, mode, name, max(rd.Limit, 1), q, r.st) })
		})
	}
}

// prefillKeys are the main resource's keys the prefill created.
func (r *run) prefillKeys() []string {
	var keys []string
	for _, o := range r.pre {
		if o.Type == trace.Create && r.w.isMain(o.Key) {
			keys = append(keys, o.Key)
		}
	}
	return keys
}

// list performs one list of mode ("", "0", "paged") and records it; a
// paged list records every page as "list page" and the whole walk.
func list(ctx context.Context, c *kube.Client, path, mode, name string, pageSize int, extra url.Values, st *readStats) {
	t0 := time.Now()
	var err error
	if mode == "paged" {
		page := st.hist(name + " (page)")
		q := cloneQuery(extra)
		q.Set("limit", strconv.Itoa(pageSize))
		for {
			p0 := time.Now()
			var m kube.ListMeta
			m, err = c.Page(ctx, path, q)
			if err != nil {
				break
			}
			page.Record(time.Since(p0))
			if m.Continue == "" {
				break
			}
			q.Set("continue", m.Continue)
		}
	} else {
		q := cloneQuery(extra)
		q.Set("resourceVersion", mode)
		_, err = c.Read(ctx, path, q)
	}
	st.done(ctx, name, t0, err)
}

// ListName names a list mode in results.
func ListName(mode string) string {
	switch mode {
	case "":
		return `list rv=""`
	case "paged":
		return "list paged"
	}
	return "list rv=" + mode
}

// GetName names a get by its resourceVersion in results.
func GetName(rv string) string {
	if rv == "" {
		return `get rv=""`
	}
	return "get rv=" + rv
}

// get GETs one random key of keys.
func get(ctx context.Context, c *kube.Client, h *trace.Header, keys []string, rv string, r *rand.Rand, st *readStats) {
	name := GetName(rv)
	key := keys[r.IntN(len(keys))]
	res := h.ResourceOf(key)
	ns, obj := trace.SplitKey(key)
	q := url.Values{}
	if rv != "" {
		q.Set("resourceVersion", rv)
	}
	t0 := time.Now()
	_, err := c.Read(ctx, kube.Path(res, ns, obj), q)
	var se *kube.StatusError
	if errors.As(err, &se) && se.Code == 404 {
		name, err = name+" (404)", nil
	}
	st.done(ctx, name, t0, err)
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
