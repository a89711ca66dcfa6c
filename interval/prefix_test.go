package interval

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
)

// under is the events of evs whose key starts with prefix.
func under(evs []*api.Event, prefix string) []*api.Event {
	var out []*api.Event
	for _, ev := range evs {
		if strings.HasPrefix(ev.Key(), prefix) {
			out = append(out, ev)
		}
	}
	return out
}

// An interval under a namespace's prefix hands out exactly that
// namespace's events, in order, from any start, including events appended
// later and runs of other namespaces' events longer than one scan.
func TestIntervalUnder_OnlyThePrefixInOrder(t *testing.T) {
	w := newCache(t, watchcache.Config{MinCapacity: 16384, MaxCapacity: 16384}, 100)
	evs := events(11, 3000, 70, 100) // namespaces ns0..ns6
	// Then a run of another namespace's events longer than one scan
	// (ScanMax), then more of every namespace.
	last := evs[len(evs)-1].RV
	other := make([]*api.Event, watchcache.ScanMax+500)
	for i := range other {
		rv := last + uint64(i) + 1
		other[i] = &api.Event{Type: api.Added, Object: obj("ns1", fmt.Sprintf("q%d", i), rv, "n"), RV: rv}
	}
	tail := events(13, 200, 70, last+uint64(len(other)))
	appendAll(t, w, evs[:2000])
	prefix := podPrefix + "ns3/"
	for _, k := range []int{-1, 0, 999, 1999} {
		from := uint64(100)
		if k >= 0 {
			from = evs[k].RV
		}
		it, err := NewUnder(w, from, prefix)
		if err != nil {
			t.Fatal(err)
		}
		got, err := drain(t, it)
		if want := under(evs[k+1:2000], prefix); err != nil || rvs(got) != rvs(want) {
			t.Fatalf("from %d: %v\ngot  %s\nwant %s", from, err, rvs(got), rvs(want))
		}
		if k == 1999 {
			appendAll(t, w, evs[2000:])
			appendAll(t, w, other)
			appendAll(t, w, tail)
			got, err = drain(t, it)
			want := under(append(append(append([]*api.Event{}, evs[2000:]...), other...), tail...), prefix)
			if err != nil || rvs(got) != rvs(want) || len(want) == 0 {
				t.Fatalf("after appends: %v\ngot  %s\nwant %s", err, rvs(got), rvs(want))
			}
		}
	}
}

// B43 under a prefix: the ring overtaking the interval is an error even
// when every event it lost was another namespace's.
func TestIntervalUnder_ExpiresWhenOvertaken_B43(t *testing.T) {
	w := newCache(t, watchcache.Config{MinCapacity: 8, MaxCapacity: 8}, 100)
	evs := events(14, 40, 10, 100)
	appendAll(t, w, evs[:4])
	it, err := NewUnder(w, evs[3].RV, podPrefix+"nobody/")
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, w, evs[4:40])
	got, err := drain(t, it)
	want := fmt.Sprintf("too old resource version: %d (%d)", evs[3].RV, evs[31].RV)
	if len(got) != 0 || !errors.Is(err, api.ErrExpired) || err.Error() != want {
		t.Fatalf("got %s, %v; want the expired error %q", rvs(got), err, want)
	}
}
