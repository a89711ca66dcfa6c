package cacher

import (
	"sync"

	"github.com/watchcached/watchcached/api"
)

// notifier wakes selective watchers only for events that can concern them.
//
// A watcher whose selector pins a tracked field to one value (metadata.name,
// metadata.namespace or an indexed field such as spec.nodeName) waits on the
// channel for (field, value) instead of the cache's global Changed channel.
// The reflector calls events for every applied batch, which closes the
// channels of the values the objects had before and after the change: a
// watch for node A is woken when a pod lands on A or leaves it, and sleeps
// through the churn of every other node.
//
// A watcher registers its (field, value) when it opens (add) and releases
// it when it closes (remove); the entry, and its channel, go with the last
// watcher of that value, so closed watchers leave nothing behind. A channel
// is made on demand by wait and dropped when closed, so an idle value costs
// one small entry per value watched.
//
// Safe for concurrent use.
type notifier struct {
	fields []string // tracked fields; immutable

	mu      sync.Mutex
	entries map[wakeKey]*wakeEntry // guarded by mu
}

type wakeKey struct{ field, value string }

// wakeEntry is one watched value. guarded by notifier.mu
type wakeEntry struct {
	watchers int           // registered watchers; the entry goes at 0
	ch       chan struct{} // nil until a watcher waits; closed and reset at a wake-up
}

func newNotifier(indexed []string) *notifier {
	fields := []string{"metadata.name", "metadata.namespace"}
	for _, f := range indexed {
		if f != "metadata.name" && f != "metadata.namespace" {
			fields = append(fields, f)
		}
	}
	return &notifier{fields: fields, entries: map[wakeKey]*wakeEntry{}}
}

// tracks reports whether field is one the notifier wakes by.
func (n *notifier) tracks(field string) bool {
	for _, f := range n.fields {
		if f == field {
			return true
		}
	}
	return false
}

// add registers a watcher of field == value.
func (n *notifier) add(field, value string) {
	k := wakeKey{field, value}
	n.mu.Lock()
	defer n.mu.Unlock()
	e := n.entries[k]
	if e == nil {
		e = &wakeEntry{}
		n.entries[k] = e
	}
	e.watchers++
}

// remove releases a watcher registered with add; the last one frees the
// entry.
func (n *notifier) remove(field, value string) {
	k := wakeKey{field, value}
	n.mu.Lock()
	defer n.mu.Unlock()
	if e := n.entries[k]; e != nil {
		if e.watchers--; e.watchers <= 0 {
			delete(n.entries, k)
		}
	}
}

// wait returns a channel closed at the next event whose object has (or had)
// field == value, or at the next closeAll. The caller must have registered
// with add. Fetch it before checking for new events, or a wake-up can be
// missed.
func (n *notifier) wait(field, value string) <-chan struct{} {
	k := wakeKey{field, value}
	n.mu.Lock()
	defer n.mu.Unlock()
	e := n.entries[k]
	if e == nil { // not registered: never leave an entry behind
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	if e.ch == nil {
		e.ch = make(chan struct{})
	}
	return e.ch
}

// events wakes the watchers the batch can concern.
func (n *notifier) events(evs []*api.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.entries) == 0 {
		return
	}
	for _, ev := range evs {
		for _, f := range n.fields {
			n.wakeLocked(f, ev.Object)
			if ev.Prev != nil {
				n.wakeLocked(f, ev.Prev)
			}
		}
	}
}

// wakeLocked closes the channel for (f, obj's value of f). n.mu must be held.
func (n *notifier) wakeLocked(f string, obj *api.Object) {
	if e := n.entries[wakeKey{f, obj.Field(f)}]; e != nil && e.ch != nil {
		close(e.ch)
		e.ch = nil
	}
}

// closeAll wakes every selective watcher (relist, readiness change, Close).
func (n *notifier) closeAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.entries {
		if e.ch != nil {
			close(e.ch)
			e.ch = nil
		}
	}
}

// size is the number of watched values and of armed channels, for tests.
func (n *notifier) size() (values, armed int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.entries {
		if e.ch != nil {
			armed++
		}
	}
	return len(n.entries), armed
}
