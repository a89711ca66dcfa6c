package etcdstore

import (
	"encoding/binary"
	"sync"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// internMax bounds each table of an interner. A table that reaches it is
// emptied and fills again from the objects decoded next, so the maps it
// pins that no object uses any more are bounded too (at most internMax
// small maps per table and resource).
const internMax = 8192

// interner shares the label maps and selectable-field maps of the objects
// one codec decodes: objects whose labels are the same JSON text, or whose
// selectable fields have the same values, get the same map. A map costs
// ~300 B however few its entries, and most objects repeat their workload's
// labels (pods of one ReplicaSet) and a field value (spec.nodeName), so a
// cache of many objects saves that per object. Sound because an
// api.Object's maps are never modified once built.
//
// Safe for concurrent use (one mutex; decoding is mostly one reflector per
// resource, so it is rarely contended).
type interner struct {
	mu     sync.Mutex
	labels map[string]labels.Set // by the labels' compact JSON; guarded by mu
	fields map[string]fields.Set // by fieldsKey of the values; guarded by mu
}

func newInterner() *interner {
	return &interner{labels: map[string]labels.Set{}, fields: map[string]fields.Set{}}
}

// labelsOf returns the labels of the compact JSON value v (an object or
// null), shared with earlier objects of the same text.
func (in *interner) labelsOf(v []byte) (labels.Set, error) {
	in.mu.Lock()
	set, ok := in.labels[string(v)]
	in.mu.Unlock()
	if ok {
		return set, nil
	}
	set, err := labelsValue(v)
	if err != nil || set == nil {
		return set, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.labels) >= internMax {
		clear(in.labels)
	}
	in.labels[string(v)] = set
	return set, nil
}

// fieldsOf returns the set of names[i]=values[i], shared with earlier
// objects of the same values; nil when names is empty. scratch is reused
// for the lookup key and returned.
func (in *interner) fieldsOf(names, values []string, scratch []byte) (fields.Set, []byte) {
	if len(names) == 0 {
		return nil, scratch
	}
	key := fieldsKey(scratch[:0], values)
	in.mu.Lock()
	defer in.mu.Unlock()
	if set, ok := in.fields[string(key)]; ok {
		return set, key
	}
	set := make(fields.Set, len(names))
	for i, n := range names {
		set[n] = values[i]
	}
	if len(in.fields) >= internMax {
		clear(in.fields)
	}
	in.fields[string(key)] = set
	return set, key
}

// fieldsKey encodes values unambiguously: each as its length, then bytes.
func fieldsKey(b []byte, values []string) []byte {
	for _, v := range values {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}
