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
// The reflector calls event for every applied event, which closes the
// channels of the values the object had before and after the change: a watch
// for node A is woken when a pod lands on A or leaves it, and sleeps through
// the churn of every other node. Channels are created on demand and dropped
// when closed, so an idle key costs nothing.
//
// Safe for concurrent use.
type notifier struct {
	fields []string // tracked fields; immutable

	mu    sync.Mutex
	chans map[wakeKey]chan struct{} // guarded by mu
}

type wakeKey struct{ field, value string }

func newNotifier(indexed []string) *notifier {
	fields := []string{"metadata.name", "metadata.namespace"}
	for _, f := range indexed {
		if f != "metadata.name" && f != "metadata.namespace" {
			fields = append(fields, f)
		}
	}
	return &notifier{fields: fields, chans: map[wakeKey]chan struct{}{}}
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

// wait returns a channel closed at the next event whose object has (or had)
// field == value, or at the next closeAll. Fetch it before checking for new
// events, or a wake-up can be missed.
func (n *notifier) wait(field, value string) <-chan struct{} {
	k := wakeKey{field, value}
	n.mu.Lock()
	defer n.mu.Unlock()
	ch, ok := n.chans[k]
	if !ok {
		ch = make(chan struct{})
		n.chans[k] = ch
	}
	return ch
}

// event wakes the watchers ev can concern.
func (n *notifier) event(ev *api.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.chans) == 0 {
		return
	}
	for _, f := range n.fields {
		n.wakeLocked(f, ev.Object)
		if ev.Prev != nil {
			n.wakeLocked(f, ev.Prev)
		}
	}
}

// wakeLocked closes the channel for (f, obj's value of f). n.mu must be held.
func (n *notifier) wakeLocked(f string, obj *api.Object) {
	k := wakeKey{f, obj.Fields[f]}
	if ch, ok := n.chans[k]; ok {
		close(ch)
		delete(n.chans, k)
	}
}

// closeAll wakes every selective watcher (relist, readiness change, Close).
func (n *notifier) closeAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, ch := range n.chans {
		close(ch)
		delete(n.chans, k)
	}
}
