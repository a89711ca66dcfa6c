package etcdstore

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/watchcached/watchcached/api"
)

// Object lifecycle (B100, B101), as kube-apiserver's generic registry runs
// it around every write: metadata.generation is 1 on create and grows by
// one on each update or patch that changes the object outside metadata and
// status; a delete of an object with finalizers marks it (deletionTimestamp,
// deletionGracePeriodSeconds 0) instead of removing it; an update keeps the
// mark (it cannot be unset); and the update that leaves a marked object
// without finalizers deletes it. The functions are pure and safe for
// concurrent use.

// stampCreate sets the generation of an object to be created.
func stampCreate(d document) {
	d.md["generation"] = json.Number("1")
}

// lifeMeta is what the lifecycle reads from a stored object.
type lifeMeta struct {
	generation int64
	deletion   any // deletionTimestamp as stored; nil when not marked
	grace      any // deletionGracePeriodSeconds as stored; nil when absent
	finalizers bool
	// rest is the object without metadata and status, compact JSON.
	rest []byte
}

// readLife reads the lifecycle fields of the stored object raw.
func readLife(raw []byte) lifeMeta {
	obj, err := parseObject(raw, "stored object")
	if err != nil {
		return lifeMeta{}
	}
	var l lifeMeta
	if md, ok := obj["metadata"].(map[string]any); ok {
		if n, ok := md["generation"].(json.Number); ok {
			l.generation, _ = n.Int64()
		}
		l.deletion = md["deletionTimestamp"]
		l.grace = md["deletionGracePeriodSeconds"]
		f, _ := md["finalizers"].([]any)
		l.finalizers = len(f) > 0
	}
	l.rest = specOf(obj)
	return l
}

// specOf is obj without metadata and status, as compact JSON (map keys
// sorted, so equal objects give equal bytes).
func specOf(obj map[string]any) []byte {
	rest := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "metadata" && k != "status" {
			rest[k] = v
		}
	}
	b, _ := json.Marshal(rest)
	return b
}

// carryLifecycle applies kube-apiserver's BeforeUpdate rules to d, which
// replaces the stored object old: the deletion mark and grace period are
// kept, and the generation is old's, plus one when d differs from old
// outside metadata and status. It reports whether the write is the one
// that finalizes old: old is marked with a grace period of 0 and d has no
// finalizers left, so the object is to be deleted instead.
func carryLifecycle(d document, old *api.Object) (finalize bool) {
	l := readLife(old.Raw)
	if l.deletion != nil {
		d.md["deletionTimestamp"] = l.deletion
	}
	if _, ok := d.md["deletionGracePeriodSeconds"]; !ok && l.grace != nil {
		d.md["deletionGracePeriodSeconds"] = l.grace
	}
	gen := l.generation
	if !bytes.Equal(specOf(d.obj), l.rest) {
		gen++
	}
	if gen == 0 {
		delete(d.md, "generation")
	} else {
		d.md["generation"] = json.Number(strconv.FormatInt(gen, 10))
	}
	f, _ := d.md["finalizers"].([]any)
	return l.deletion != nil && len(f) == 0 && isZero(l.grace)
}

// isZero reports whether a stored deletionGracePeriodSeconds is 0.
func isZero(v any) bool {
	n, ok := v.(json.Number)
	return ok && n.String() == "0"
}

// markDeleting is the delete of an object with finalizers: d (the stored
// object) gets deletionTimestamp now and deletionGracePeriodSeconds 0.
// It reports false when d has no finalizers (the delete removes it) and
// leaves an object already marked as it is.
func markDeleting(d document) (marked bool) {
	f, _ := d.md["finalizers"].([]any)
	if len(f) == 0 {
		return false
	}
	if ts, _ := d.md["deletionTimestamp"].(string); ts == "" {
		d.md["deletionTimestamp"] = nowTimestamp()
		d.md["deletionGracePeriodSeconds"] = json.Number("0")
	}
	return true
}
