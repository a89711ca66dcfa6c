package watchcache

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"k8s.io/apimachinery/pkg/fields"
)

const podPrefix = "/registry/pods/"

// obj builds a pod-like object at key "/registry/pods/<ns>/<name>" with RV
// rv and spec.nodeName node; Raw is a small JSON blob with RVAt right.
func obj(ns, name string, rv uint64, node string) *api.Object {
	head := `{"metadata":{"name":"` + name + `","namespace":"` + ns + `","resourceVersion":"`
	raw := head + strconv.FormatUint(rv, 10) + `"},"spec":{"nodeName":"` + node + `"}}`
	return &api.Object{
		Key:       podPrefix + ns + "/" + name,
		Namespace: ns,
		Name:      name,
		Fields:    fields.Set{"metadata.name": name, "metadata.namespace": ns, "spec.nodeName": node},
		RV:        rv,
		Raw:       []byte(raw),
		RVAt:      len(head),
	}
}

// model replays events into a map and remembers every event.
type model struct {
	rng    *rand.Rand
	rv     uint64
	cur    map[string]*api.Object
	events []*api.Event
	keys   []string // key space, fixed
}

func newModel(seed uint64, keys int, startRV uint64) *model {
	m := &model{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), rv: startRV, cur: map[string]*api.Object{}}
	for i := range keys {
		m.keys = append(m.keys, fmt.Sprintf("ns%d/p%d", i%11, i))
	}
	return m
}

// next produces a random create, update or delete event, with RV gaps.
func (m *model) next() *api.Event {
	m.rv += 1 + uint64(m.rng.IntN(3))
	return m.change(m.keys[m.rng.IntN(len(m.keys))])
}

// nextRevision produces one etcd revision of 1 to most events (as a
// transaction, a prefix delete or a lease expiry makes): random changes of
// distinct keys, all at one new RV.
func (m *model) nextRevision(most int) []*api.Event {
	m.rv += 1 + uint64(m.rng.IntN(3))
	n := 1 + m.rng.IntN(most)
	var evs []*api.Event
	seen := map[string]bool{}
	for range n {
		k := m.keys[m.rng.IntN(len(m.keys))]
		if seen[k] {
			continue
		}
		seen[k] = true
		evs = append(evs, m.change(k))
	}
	return evs
}

// change produces a random create, update or delete of key k at m.rv.
func (m *model) change(k string) *api.Event {
	ns, name, _ := strings.Cut(k, "/")
	key := podPrefix + k
	prev := m.cur[key]
	node := fmt.Sprintf("node%d", m.rng.IntN(4))
	var ev *api.Event
	switch {
	case prev == nil:
		ev = &api.Event{Type: api.Added, Object: obj(ns, name, m.rv, node), RV: m.rv}
		m.cur[key] = ev.Object
	case m.rng.IntN(3) == 0:
		ev = &api.Event{Type: api.Deleted, Object: prev.WithRV(m.rv), Prev: prev, RV: m.rv}
		delete(m.cur, key)
	default:
		ev = &api.Event{Type: api.Modified, Object: obj(ns, name, m.rv, node), Prev: prev, RV: m.rv}
		m.cur[key] = ev.Object
	}
	m.events = append(m.events, ev)
	return ev
}

// sorted returns the model's objects with prefix in key order.
func (m *model) sorted(prefix string) []*api.Object {
	var out []*api.Object
	for k, o := range m.cur {
		if strings.HasPrefix(k, prefix) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *api.Object) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func collect(s *Snapshot, prefix, start string) []*api.Object {
	var out []*api.Object
	s.Ascend(prefix, start, func(o *api.Object) bool { out = append(out, o); return true })
	return out
}

func mustNew(t testing.TB, cfg Config) *WatchCache {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func mustAppend(t testing.TB, w *WatchCache, ev *api.Event, now time.Time) {
	t.Helper()
	if err := w.Append(ev, now); err != nil {
		t.Fatal(err)
	}
	if err := w.checkInvariants(); err != nil {
		t.Fatalf("after RV %d: %v", ev.RV, err)
	}
}

func keysOf(objs []*api.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Key
	}
	return out
}

var t0 = time.Unix(1_700_000_000, 0)
