package api

import (
	"strconv"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// Object is one decoded object as it is served. It is immutable once built
// and safe for concurrent use: the store, snapshots, the event ring and all
// watchers share the same *Object and its Raw bytes. Never modify a field or
// the contents of a slice or map reachable from an Object.
type Object struct {
	// Key is the full etcd key, e.g. "/registry/pods/default/web-0".
	// Objects of one resource are ordered by Key (byte order, as etcd).
	Key string
	// Namespace is empty for cluster-scoped resources.
	Namespace string
	Name      string
	// UID is metadata.uid, empty when the stored object has none.
	UID string
	// Labels are metadata.labels; nil when there are none.
	Labels labels.Set
	// Fields holds the values of the field paths configured as selectable
	// for the resource (e.g. "spec.nodeName"), absent paths as ""; nil
	// when there are none. It need not hold "metadata.name" and
	// "metadata.namespace": read a field with Field, which serves those
	// two from Name and Namespace. Identical sets (and identical Labels)
	// may be one map shared by many objects (see etcdstore's interning).
	Fields fields.Set
	// RV is the object's resourceVersion: the etcd mod_revision of the
	// state it shows (for a deleted object in a DELETED event, the
	// revision of the deletion).
	RV uint64
	// Raw is the object's JSON exactly as served, with
	// metadata.resourceVersion set to RV.
	Raw []byte
	// RVAt is the offset in Raw of the first digit of the decimal RV inside
	// the metadata.resourceVersion string, so that WithRV can re-stamp the
	// object without decoding it. Invariant: Raw[RVAt:RVAt+len(decimal RV)]
	// is the decimal RV and is followed by '"'.
	RVAt int

	// alt is the object's encoding in the one other wire format a
	// server serves (Encoded), filled on first use; nil until then.
	alt atomic.Pointer[encoded]
}

// Field returns the value of a selectable field: metadata.name and
// metadata.namespace from Name and Namespace, any other from Fields ("" when
// absent).
func (o *Object) Field(name string) string {
	switch name {
	case "metadata.name":
		return o.Name
	case "metadata.namespace":
		return o.Namespace
	}
	return o.Fields[name]
}

// objectFields is an Object seen as fields.Fields, for field selectors:
// a conversion of the pointer, so matching allocates nothing.
type objectFields Object

// Has reports whether the object has the field (metadata.name and
// metadata.namespace always).
func (f *objectFields) Has(name string) bool {
	if name == "metadata.name" || name == "metadata.namespace" {
		return true
	}
	_, ok := f.Fields[name]
	return ok
}

// Get is Object.Field.
func (f *objectFields) Get(name string) string { return (*Object)(f).Field(name) }

// WithRV returns a copy of o that shows resourceVersion rv (o itself when rv
// equals o.RV). Labels and Fields are shared, Raw is new. It is how a delete
// event shows the last state at the deletion's revision.
func (o *Object) WithRV(rv uint64) *Object {
	if rv == o.RV {
		return o
	}
	old := strconv.FormatUint(o.RV, 10)
	digits := strconv.FormatUint(rv, 10)
	raw := make([]byte, 0, len(o.Raw)-len(old)+len(digits))
	raw = append(raw, o.Raw[:o.RVAt]...)
	raw = append(raw, digits...)
	raw = append(raw, o.Raw[o.RVAt+len(old):]...)
	return &Object{Key: o.Key, Namespace: o.Namespace, Name: o.Name, UID: o.UID, Labels: o.Labels,
		Fields: o.Fields, RV: rv, Raw: raw, RVAt: o.RVAt}
}

// Size is the approximate number of bytes the object holds on the heap,
// used to bound caches by bytes. Labels and Fields are counted in full even
// when other objects share them, so it errs on the high side.
func (o *Object) Size() int {
	n := 128 + len(o.Key) + len(o.Namespace) + len(o.Name) + len(o.UID) + cap(o.Raw)
	if e := o.alt.Load(); e != nil {
		n += 48 + cap(e.b)
	}
	for k, v := range o.Labels {
		n += 32 + len(k) + len(v)
	}
	for k, v := range o.Fields {
		n += 32 + len(k) + len(v)
	}
	return n
}
