package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/watchcached/watchcached/cmd/watchcached-bench/measure"
	"github.com/watchcached/watchcached/cmd/watchcached-bench/trace"
)

// commit is one write etcd acknowledged.
type commit struct {
	rev  int64
	at   int64 // UnixNano of the acknowledgement
	main bool  // the key belongs to the trace's main resource
	// node and prev are spec.nodeName after and before the write: a
	// watcher of either node sees the event (B40).
	node, prev string
}

// writer applies ops to etcd, sharded by key over several goroutines.
// The log of commits is guarded by mu; the per-key state of a shard is
// owned by that shard's goroutine.
type writer struct {
	cfg    *Config
	main   string // key prefix of the main resource
	shards []*shard
	writes measure.Counter

	mu      sync.Mutex
	commits []commit // guarded by mu
}

// shard is one writer goroutine's state.
type shard struct {
	rev  map[string]int64  // key → last mod revision seen (0: absent)
	node map[string]string // key → spec.nodeName of the last value
	hist *measure.Hist
	conf int64
	errs int64
}

func newWriter(cfg *Config) *writer {
	w := &writer{cfg: cfg, main: cfg.Header.Resources[0].Prefix(cfg.Header.Prefix)}
	for range cfg.Writers {
		w.shards = append(w.shards, &shard{rev: map[string]int64{}, node: map[string]string{}, hist: measure.NewHist()})
	}
	return w
}

func (w *writer) shardOf(key string) *shard { return w.shards[w.shardIdx(key)] }

func (w *writer) shardIdx(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(len(w.shards)))
}

// prefill writes the leading ops in transactions of 100 puts, 4 at a
// time, and returns the revision of the last one.
func (w *writer) prefill(ctx context.Context, ops []*trace.Op, prog *measure.Progress) (int64, error) {
	const batch, parallel = 100, 4
	type job struct{ ops []*trace.Op }
	jobs := make(chan job)
	var mu sync.Mutex
	var last int64
	var firstErr error
	done := 0
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for j := range jobs {
				rev, err := w.putBatch(ctx, j.ops)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				last = max(last, rev)
				done += len(j.ops)
				mu.Unlock()
			}
		})
	}
	for i := 0; i < len(ops); i += batch {
		jobs <- job{ops[i:min(i+batch, len(ops))]}
		mu.Lock()
		prog.Update(float64(done)/float64(len(ops)), fmt.Sprintf("prefill %d/%d", done, len(ops)))
		mu.Unlock()
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	if last == 0 {
		resp, err := w.cfg.Etcd.Get(ctx, "/", clientv3.WithCountOnly())
		if err != nil {
			return 0, err
		}
		last = resp.Header.Revision
	}
	return last, nil
}

func (w *writer) putBatch(ctx context.Context, ops []*trace.Op) (int64, error) {
	puts := make([]clientv3.Op, 0, len(ops))
	for _, o := range ops {
		if o.Type == trace.Delete {
			puts = append(puts, clientv3.OpDelete(o.Key))
			continue
		}
		v, err := w.cfg.Header.Value(o)
		if err != nil {
			return 0, err
		}
		puts = append(puts, clientv3.OpPut(o.Key, string(v)))
	}
	resp, err := w.cfg.Etcd.Txn(ctx).Then(puts...).Commit()
	if err != nil {
		return 0, fmt.Errorf("replay: prefill: %w", err)
	}
	rev := resp.Header.Revision
	for _, o := range ops {
		s := w.shardOf(o.Key)
		// The shard goroutines do not run yet; w.mu serialises the
		// prefill's batches. (Batches run in parallel, so a prefill that
		// wrote one key twice could end with either value; the generators
		// write each key once.)
		w.mu.Lock()
		if o.Type == trace.Delete {
			s.rev[o.Key] = 0
		} else {
			s.rev[o.Key] = rev
			s.node[o.Key] = nodeOf(w.cfg.Header, o)
		}
		w.mu.Unlock()
	}
	return rev, nil
}

// run applies ops at their offsets from start (scaled by Speed) and
// returns when all are applied or ctx is done.
func (w *writer) run(ctx context.Context, ops []*trace.Op, start time.Time) {
	queues := make([]chan *trace.Op, len(w.shards))
	var wg sync.WaitGroup
	for i, s := range w.shards {
		queues[i] = make(chan *trace.Op, 256)
		wg.Go(func() {
			for o := range queues[i] {
				if w.cfg.Speed > 0 {
					due := start.Add(time.Duration(float64(o.Offset()) / w.cfg.Speed))
					if d := time.Until(due); d > 0 {
						sleep(ctx, d)
					}
				}
				if ctx.Err() != nil {
					continue
				}
				w.apply(ctx, s, o)
			}
		})
	}
	for _, o := range ops {
		queues[w.shardIdx(o.Key)] <- o
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
}

// apply performs one op, conditional on the shard's view of the key when
// the op asks for it, and logs the commit.
func (w *writer) apply(ctx context.Context, s *shard, o *trace.Op) {
	var val []byte
	var err error
	if o.Type != trace.Delete {
		if val, err = w.cfg.Header.Value(o); err != nil {
			s.errs++
			return
		}
	}
	var op clientv3.Op
	if o.Type == trace.Delete {
		op = clientv3.OpDelete(o.Key)
	} else {
		op = clientv3.OpPut(o.Key, string(val))
	}
	txn := w.cfg.Etcd.Txn(ctx)
	if o.CAS {
		if o.Type == trace.Create {
			txn = txn.If(clientv3.Compare(clientv3.CreateRevision(o.Key), "=", 0))
		} else {
			txn = txn.If(clientv3.Compare(clientv3.ModRevision(o.Key), "=", s.rev[o.Key]))
		}
	}
	t0 := time.Now()
	resp, err := txn.Then(op).Commit()
	ack := time.Now()
	if err != nil {
		if ctx.Err() == nil {
			s.errs++
		}
		return
	}
	s.hist.Record(ack.Sub(t0))
	w.writes.Add(1)
	if !resp.Succeeded {
		s.conf++
		return
	}
	if o.Type == trace.Delete {
		if r := resp.Responses[0].GetResponseDeleteRange(); r == nil || r.Deleted == 0 {
			return // nothing deleted, no event
		}
	}
	w.committed(s, o, resp.Header.Revision, ack)
}

// committed updates the shard's view of o's key after etcd applied o at
// rev, and logs the commit.
func (w *writer) committed(s *shard, o *trace.Op, rev int64, ack time.Time) {
	prev := s.node[o.Key]
	node := prev
	switch o.Type {
	case trace.Delete:
		s.rev[o.Key] = 0
		delete(s.node, o.Key)
	case trace.Create:
		prev = ""
		fallthrough
	default:
		s.rev[o.Key] = rev
		node = nodeOf(w.cfg.Header, o)
		s.node[o.Key] = node
	}
	w.mu.Lock()
	w.commits = append(w.commits, commit{rev: rev, at: ack.UnixNano(), main: w.isMain(o.Key), node: node, prev: prev})
	w.mu.Unlock()
}

// isMain reports whether key is an object of the trace's main resource.
func (w *writer) isMain(key string) bool {
	return len(key) > len(w.main) && strings.HasPrefix(key, w.main)
}

// log returns the commits sorted by revision.
func (w *writer) log() []commit {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := append([]commit(nil), w.commits...)
	sort.Slice(out, func(i, j int) bool { return out[i].rev < out[j].rev })
	return out
}

// nodes lists the distinct nodes of the prefilled main-resource objects,
// sorted.
func (w *writer) nodes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	set := map[string]bool{}
	for _, s := range w.shards {
		for _, n := range s.node {
			if n != "" {
				set[n] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// nodeOf is the spec.nodeName an op writes: the template's $node, or the
// literal body's field.
func nodeOf(h *trace.Header, o *trace.Op) string {
	if o.Template != "" {
		return o.Vars["node"]
	}
	var v struct {
		Spec struct {
			NodeName string `json:"nodeName"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(o.Body, &v)
	return v.Spec.NodeName
}
