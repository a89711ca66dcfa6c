package api

import "sync/atomic"

// EventType names a watch event as it appears on the wire.
type EventType string

// The event types of the Kubernetes watch protocol.
const (
	Added      EventType = "ADDED"
	Modified   EventType = "MODIFIED"
	Deleted    EventType = "DELETED"
	Bookmark   EventType = "BOOKMARK"
	ErrorEvent EventType = "ERROR"
)

// Event is one change of one object as etcd reported it, before any
// selector is applied. Events are immutable and shared; the ring of the
// watch cache stores them as they are.
//
// Type is Added for a create, Modified for an update, Deleted for a delete.
// Object is the state after the change; for a delete it is the last state
// re-stamped with the deletion's RV (as kube-apiserver serves it). Prev is
// the state before the change at its own RV, nil for a create (and for a
// delete or update when etcd no longer had the previous value).
//
// Events are handled by pointer and never copied: prevAtRV is filled lazily.
type Event struct {
	Type   EventType
	Object *Object
	Prev   *Object
	RV     uint64

	prevAtRV atomic.Pointer[Object]
}

// Key is the etcd key of the object the event concerns.
func (e *Event) Key() string { return e.Object.Key }

// PrevAtRV is Prev re-stamped with the event's RV: what a watcher whose
// selector stopped matching receives as DELETED (B40). It is built at most
// once per event (racing callers may both build it; one result wins and
// both are equal) and then shared by every watcher. Nil when Prev is nil.
func (e *Event) PrevAtRV() *Object {
	if e.Prev == nil {
		return nil
	}
	if p := e.prevAtRV.Load(); p != nil {
		return p
	}
	p := e.Prev.WithRV(e.RV)
	if e.prevAtRV.CompareAndSwap(nil, p) {
		return p
	}
	return e.prevAtRV.Load()
}

// WatchEvent is what a Watcher hands to a client: one event after the
// watcher's selector transform (B40), or a bookmark.
//
// For Added, Modified and Deleted, Object is the object to send and RV its
// resourceVersion. For Bookmark, Object is nil and RV is the bookmark's
// resourceVersion; InitialEventsEnd marks the bookmark that ends the initial
// events of a sendInitialEvents watch (annotation
// "k8s.io/initial-events-end": "true").
type WatchEvent struct {
	Type             EventType
	Object           *Object
	RV               uint64
	InitialEventsEnd bool
}

// Transform is what a watcher whose filter is match receives for e (B40):
// ADDED when the object starts matching, MODIFIED while it keeps matching,
// DELETED with the previous state at the event's RV when it stops matching,
// DELETED with the last state for a real delete; ok is false when the object
// matches neither before nor after. The objects are e's own, never copies.
func (e *Event) Transform(match func(*Object) bool) (ev WatchEvent, ok bool) {
	if e.Type == Deleted {
		return WatchEvent{Type: Deleted, Object: e.Object, RV: e.RV}, match(e.Object)
	}
	cur := match(e.Object)
	old := e.Prev != nil && match(e.Prev)
	switch {
	case cur && old:
		return WatchEvent{Type: Modified, Object: e.Object, RV: e.RV}, true
	case cur:
		return WatchEvent{Type: Added, Object: e.Object, RV: e.RV}, true
	case old:
		return WatchEvent{Type: Deleted, Object: e.PrevAtRV(), RV: e.RV}, true
	}
	return WatchEvent{}, false
}
