package interval

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
	"k8s.io/apimachinery/pkg/fields"
)

const podPrefix = "/registry/pods/"

var t0 = time.Unix(1_700_000_000, 0)

// obj builds a pod-like object with a small JSON Raw and a correct RVAt.
func obj(ns, name string, rv uint64, node string) *api.Object {
	head := `{"metadata":{"name":"` + name + `","namespace":"` + ns + `","resourceVersion":"`
	raw := head + strconv.FormatUint(rv, 10) + `"},"spec":{"nodeName":"` + node + `"}}`
	return &api.Object{
		Key: podPrefix + ns + "/" + name, Namespace: ns, Name: name,
		Fields: fields.Set{"metadata.name": name, "metadata.namespace": ns, "spec.nodeName": node},
		RV:     rv, Raw: []byte(raw), RVAt: len(head),
	}
}

// events generates n random create/update/delete events after startRV, with
// RV gaps, over keys keys: one event per revision.
func events(seed uint64, n, keys int, startRV uint64) []*api.Event {
	return genEvents(seed, n, keys, startRV, false)
}

// revisionEvents is events where about a third of the events share the
// revision (RV) of the one before, on another key, as the events of an etcd
// transaction, prefix delete or lease expiry do.
func revisionEvents(seed uint64, n, keys int, startRV uint64) []*api.Event {
	return genEvents(seed, n, keys, startRV, true)
}

func genEvents(seed uint64, n, keys int, startRV uint64, share bool) []*api.Event {
	rng := rand.New(rand.NewPCG(seed, 7))
	cur := map[string]*api.Object{}
	inRev := map[string]bool{} // keys changed at rv
	rv := startRV
	out := make([]*api.Event, 0, n)
	for len(out) < n {
		i := rng.IntN(keys)
		ns, name := fmt.Sprintf("ns%d", i%7), fmt.Sprintf("p%d", i)
		key := podPrefix + ns + "/" + name
		if !share || len(out) == 0 || rng.IntN(3) != 0 {
			rv += 1 + uint64(rng.IntN(3))
			clear(inRev)
		} else if inRev[key] {
			continue
		}
		inRev[key] = true
		prev := cur[key]
		node := fmt.Sprintf("node%d", rng.IntN(3))
		var ev *api.Event
		switch {
		case prev == nil:
			ev = &api.Event{Type: api.Added, Object: obj(ns, name, rv, node), RV: rv}
			cur[key] = ev.Object
		case rng.IntN(3) == 0:
			ev = &api.Event{Type: api.Deleted, Object: prev.WithRV(rv), Prev: prev, RV: rv}
			delete(cur, key)
		default:
			ev = &api.Event{Type: api.Modified, Object: obj(ns, name, rv, node), Prev: prev, RV: rv}
			cur[key] = ev.Object
		}
		out = append(out, ev)
	}
	return out
}

func newCache(t testing.TB, cfg watchcache.Config, startRV uint64) *watchcache.WatchCache {
	t.Helper()
	w, err := watchcache.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.Replace(nil, startRV, t0)
	return w
}

// appendAll applies evs revision by revision.
func appendAll(t testing.TB, w *watchcache.WatchCache, evs []*api.Event) {
	t.Helper()
	for _, rev := range revisions(evs) {
		if err := w.Apply(rev, t0); err != nil {
			t.Fatal(err)
		}
	}
}

// revisions splits evs into runs of one RV each.
func revisions(evs []*api.Event) [][]*api.Event {
	var out [][]*api.Event
	for i := 0; i < len(evs); {
		j := i + 1
		for j < len(evs) && evs[j].RV == evs[i].RV {
			j++
		}
		out = append(out, evs[i:j])
		i = j
	}
	return out
}

// drain reads the interval until it is caught up or fails.
func drain(t testing.TB, it *Interval) ([]*api.Event, error) {
	t.Helper()
	var out []*api.Event
	for {
		ev, err := it.Next()
		if ierr := it.checkInvariants(); ierr != nil {
			t.Fatal(ierr)
		}
		if ev == nil || err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func rvs(evs []*api.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%d ", e.RV)
	}
	return b.String()
}
