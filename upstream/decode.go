package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/jsonscan"
)

// decoder turns one object's JSON, as the upstream served it, into an
// immutable api.Object. Built once; safe for concurrent use.
type decoder struct {
	res    *api.Resource
	prefix string
	paths  [][]string // parallel to res.SelectableFields, FieldPaths applied
}

func newDecoder(res *api.Resource, prefix string) decoder {
	d := decoder{res: res, prefix: prefix}
	for _, f := range res.SelectableFields {
		p := f
		if q, ok := res.FieldPaths[f]; ok {
			p = q
		}
		d.paths = append(d.paths, strings.Split(p, "."))
	}
	return d
}

// objectMeta is what is decoded of an object besides its selectable
// fields.
type objectMeta struct {
	Metadata struct {
		Name            string            `json:"name"`
		Namespace       string            `json:"namespace"`
		UID             string            `json:"uid"`
		ResourceVersion string            `json:"resourceVersion"`
		Labels          map[string]string `json:"labels"`
	} `json:"metadata"`
}

// decode builds the object raw shows. Raw is raw compacted; its
// metadata.resourceVersion is the object's RV, which must be a positive
// integer (the upstream's etcd revision).
func (d *decoder) decode(raw []byte) (*api.Object, error) {
	c, err := jsonscan.Compact(make([]byte, 0, len(raw)), raw)
	if err != nil {
		return nil, fmt.Errorf("upstream: object is not JSON: %v", err)
	}
	var m objectMeta
	if err := json.Unmarshal(c, &m); err != nil {
		return nil, fmt.Errorf("upstream: object metadata: %v", err)
	}
	md := m.Metadata
	rv, err := strconv.ParseUint(md.ResourceVersion, 10, 64)
	if err != nil || rv == 0 {
		return nil, fmt.Errorf("upstream: object %s/%s has resourceVersion %q, not a positive integer", md.Namespace, md.Name, md.ResourceVersion)
	}
	if md.Name == "" || d.res.Namespaced != (md.Namespace != "") {
		return nil, fmt.Errorf("upstream: object %q/%q does not name a %s", md.Namespace, md.Name, d.res.Kind)
	}
	at := rvOffset(c, md.ResourceVersion)
	if at < 0 {
		return nil, fmt.Errorf("upstream: object %s/%s: metadata.resourceVersion not found in its JSON", md.Namespace, md.Name)
	}
	obj := &api.Object{
		Key:       d.res.Key(d.prefix, md.Namespace, md.Name),
		Namespace: md.Namespace,
		Name:      md.Name,
		UID:       md.UID,
		RV:        rv,
		Raw:       c,
		RVAt:      at,
	}
	if len(md.Labels) > 0 {
		obj.Labels = labels.Set(md.Labels)
	}
	obj.Fields = fields.Set{"metadata.name": md.Name, "metadata.namespace": md.Namespace}
	if len(d.paths) > 0 {
		if err := d.fields(c, obj.Fields); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

// fields fills the selectable fields of the compact object c into set, as
// a field selector sees them: a string as is, a number or boolean as its
// JSON text, anything else as "" (or the field's default).
func (d *decoder) fields(c []byte, set fields.Set) error {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(c, &doc); err != nil {
		return fmt.Errorf("upstream: object: %v", err)
	}
	for i, p := range d.paths {
		v := lookup(doc, p)
		if v == "" {
			v = d.res.FieldDefaults[d.res.SelectableFields[i]]
		}
		set[d.res.SelectableFields[i]] = v
	}
	return nil
}

func lookup(doc map[string]json.RawMessage, path []string) string {
	v, ok := doc[path[0]]
	if !ok {
		return ""
	}
	if len(path) > 1 {
		var sub map[string]json.RawMessage
		if json.Unmarshal(v, &sub) != nil {
			return ""
		}
		return lookup(sub, path[1:])
	}
	switch {
	case len(v) == 0 || v[0] == '{' || v[0] == '[' || v[0] == 'n':
		return ""
	case v[0] == '"':
		var s string
		_ = json.Unmarshal(v, &s)
		return s
	}
	return string(v)
}

// rvOffset finds the first digit of metadata.resourceVersion in the
// compact object c: the member "resourceVersion":"<rv>" directly inside
// the top-level "metadata" object (not one of a nested object, such as an
// ownerReference's). -1 when it is not there.
func rvOffset(c []byte, rv string) int {
	md := memberValue(c, 0, "metadata")
	if md < 0 {
		return -1
	}
	at := memberValue(c, md, "resourceVersion")
	if at < 0 || !bytes.HasPrefix(c[at:], []byte(`"`+rv+`"`)) {
		return -1
	}
	return at + 1
}

// memberValue is the offset of the value of member key in the object that
// starts at c[start] ('{'), or -1. c is compact, valid JSON.
func memberValue(c []byte, start int, key string) int {
	if start >= len(c) || c[start] != '{' {
		return -1
	}
	dec := json.NewDecoder(bytes.NewReader(c[start:]))
	if _, err := dec.Token(); err != nil { // '{'
		return -1
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return -1
		}
		k, _ := tok.(string)
		// Compact JSON: the key's closing quote is followed by ':' and the
		// value.
		off := start + int(dec.InputOffset()) + 1
		if k == key {
			return off
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return -1
		}
	}
	return -1
}
