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

func (s *readStats) fail(name string) {
	s.mu.Lock()
	s.errs[name]++
	s.mu.Unlock()
}

// every runs f every iv (back to back when iv is 0) until ctx is done.
func every(ctx context.Context, iv time.Duration, f func()) {
	var tick <-chan time.Time
	if iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		tick = t.C
	}
	for ctx.Err() == nil {
		f()
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
			}
		}
	}
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
	if err != nil {
		if ctx.Err() == nil {
			st.fail(name)
		}
		return
	}
	st.hist(name).Record(time.Since(t0))
	st.reads.Add(1)
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
	if err != nil {
		var se *kube.StatusError
		if errors.As(err, &se) && se.Code == 404 {
			st.hist(name + " (404)").Record(time.Since(t0))
			st.reads.Add(1)
			return
		}
		if ctx.Err() == nil {
			st.fail(name)
		}
		return
	}
	st.hist(name).Record(time.Since(t0))
	st.reads.Add(1)
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
