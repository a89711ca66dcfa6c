package etcdstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/jsonscan"
)

// codec turns the stored values of one resource into api.Objects and
// back. It is built once by newCodec and never changed, so it is safe for
// concurrent use; Store.Decode is its public face.
//
// The main trade-off is written in the package doc: objects stay JSON
// bytes, and only metadata, labels and the selectable fields are decoded
// beside them, by byte offsets into the value compacted by jsonscan.
type codec struct {
	res       *api.Resource
	prefix    string // etcd prefix, e.g. "/registry"; a value's key must be res.Key(prefix, ...)
	keyPrefix string // res.Prefix(prefix)

	fieldPaths     []fieldPath // parallel to res.SelectableFields (res.FieldPaths applied)
	fieldDefaults  []string    // parallel to res.SelectableFields: the value when absent
	headAPIVersion []byte      // `"apiVersion":"v1",`
	headKind       []byte      // `"kind":"Pod",`
	quotedGV       []byte      // `"v1"`
	// conv converts the objects of a resource stored in another form
	// (convert_events.go, codec_convert.go); nil for most.
	conv *conversion
	// shared interns the objects' label and field maps (intern.go).
	shared *interner
}

// newCodec derives what decoding needs from res and prefix.
func newCodec(res *api.Resource, prefix string) codec {
	cd := codec{res: res, prefix: prefix, conv: conversionFor(res), shared: newInterner(),
		keyPrefix: res.Prefix(prefix)}
	for _, f := range res.SelectableFields {
		p := f
		if q, ok := res.FieldPaths[f]; ok {
			p = q
		}
		cd.fieldPaths = append(cd.fieldPaths, splitFieldPath(p))
		cd.fieldDefaults = append(cd.fieldDefaults, res.FieldDefaults[f])
	}
	gv, _ := json.Marshal(res.GroupVersion())
	kind, _ := json.Marshal(res.Kind)
	cd.quotedGV = gv
	cd.headAPIVersion = append(append([]byte(`"apiVersion":`), gv...), ',')
	cd.headKind = append(append([]byte(`"kind":`), kind...), ',')
	return cd
}

// Decode builds the immutable object a stored value shows at modRevision.
//
// The value is JSON or Kubernetes protobuf (translated once to the JSON
// kube-apiserver serves, codec_proto.go). It must be an object whose
// metadata.name (and, for namespaced resources, metadata.namespace) agree
// with key. Raw is the value compacted
// to one line, with apiVersion and kind added when missing, any stored
// metadata.resourceVersion dropped, and "resourceVersion":"<modRevision>"
// inserted as the first member of metadata; RVAt points at its first digit.
// Only metadata, labels and the selectable fields are decoded; the rest of
// the value is copied, never parsed into Go values. Safe for concurrent use.
func (s *Store) Decode(key string, value []byte, modRevision int64) (*api.Object, error) {
	return s.codec.decode(key, value, modRevision)
}

// decode is Store.Decode. A value in Kubernetes protobuf or encrypted
// at rest (both begin with "k8s", which no JSON value does) takes the path
// of codec_proto.go; anything else is decoded as JSON.
func (cd *codec) decode(key string, value []byte, modRevision int64) (*api.Object, error) {
	if cd.conv != nil {
		return cd.decodeConverted(key, value, modRevision)
	}
	if len(value) > 0 && value[0] == 'k' {
		return cd.decodeK8s(key, value, modRevision)
	}
	return cd.decodeJSON(key, value, modRevision)
}

// decodeJSON decodes a JSON value (Store.Decode's contract).
func (cd *codec) decodeJSON(key string, value []byte, modRevision int64) (*api.Object, error) {
	if modRevision <= 0 {
		return nil, undecodable(key, "mod revision %d is not positive", modRevision)
	}
	bp := compactPool.Get().(*[]byte)
	defer compactPool.Put(bp)
	c, err := jsonscan.Compact((*bp)[:0], value)
	*bp = c
	if err != nil {
		return nil, undecodable(key, "not JSON: %v", err)
	}
	return cd.decodeCompact(key, c, modRevision)
}

// decodeCompact decodes c, one valid JSON value without insignificant
// whitespace. The object returned shares no memory with c.
func (cd *codec) decodeCompact(key string, c []byte, modRevision int64) (*api.Object, error) {
	if len(c) < 2 || c[0] != '{' {
		return nil, undecodable(key, "not a JSON object")
	}
	top := scanTop(c)
	if top.mdStart < 0 || c[top.mdStart] != '{' {
		return nil, undecodable(key, "no metadata object")
	}
	md, err := scanMetadata(c, top.mdStart, cd.shared.labelsOf)
	if err != nil {
		return nil, undecodable(key, "%v", err)
	}
	if md.name == "" {
		return nil, undecodable(key, "no metadata.name")
	}
	ns, name, ok := cd.keyNames(key, md.namespace, md.name)
	if !ok {
		return nil, undecodable(key, "metadata (namespace %q, name %q) does not match the key", md.namespace, md.name)
	}
	obj := &api.Object{
		Key:       key,
		Namespace: ns,
		Name:      name,
		UID:       md.uid,
		Labels:    md.labels,
		RV:        uint64(modRevision),
	}
	var vals [8]string
	values := vals[:0]
	for i, p := range cd.fieldPaths {
		v := lookupField(c, p)
		if v == "" {
			v = cd.fieldDefaults[i]
		}
		values = append(values, v)
	}
	var scratch [64]byte
	obj.Fields, _ = cd.shared.fieldsOf(cd.res.SelectableFields, values, scratch[:0])
	obj.Raw, obj.RVAt = cd.spliceRV(c, top, md, modRevision)
	return obj, nil
}

// keyNames checks that key is the resource's key of namespace and name
// and returns both as substrings of key, so that an object's Namespace
// and Name cost no memory of their own.
func (cd *codec) keyNames(key, namespace, name string) (ns, n string, ok bool) {
	rest, ok := strings.CutPrefix(key, cd.keyPrefix)
	if !ok {
		return "", "", false
	}
	if cd.res.Namespaced {
		if len(rest) != len(namespace)+1+len(name) || rest[:len(namespace)] != namespace ||
			rest[len(namespace)] != '/' || rest[len(namespace)+1:] != name {
			return "", "", false
		}
		return rest[:len(namespace)], rest[len(namespace)+1:], true
	}
	if rest != name {
		return "", "", false
	}
	return namespace, rest, true // a cluster-scoped object's namespace, if any, is kept as stored
}

// encode marshals a write's document for storage (never with a
// resourceVersion) and checks that it decodes as an object of key, so that
// nothing is written that the store would then refuse to serve.
func (cd *codec) encode(key string, d document) ([]byte, *api.Object, error) {
	delete(d.md, "resourceVersion")
	val, err := json.Marshal(d.obj)
	if err != nil {
		return nil, nil, api.Errorf(api.ErrBadRequest, "cannot encode the object: %v", err)
	}
	if cd.conv != nil {
		if val, err = cd.toStored(val); err != nil {
			return nil, nil, err
		}
	}
	obj, err := cd.decode(key, val, 1)
	if err != nil {
		return nil, nil, api.Errorf(api.ErrBadRequest, "invalid object: %v", err)
	}
	return val, obj, nil
}

// compactPool holds scratch buffers (*[]byte) for the compact value.
var compactPool = sync.Pool{New: func() any { return new([]byte) }}

func undecodable(key, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrUndecodable, key, fmt.Sprintf(format, args...))
}

// spliceRV assembles Raw from the compact value c: "{", the missing
// apiVersion/kind, everything up to metadata's "{", the resourceVersion,
// metadata's other members, then the rest of c.
func (cd *codec) spliceRV(c []byte, top topInfo, md metaInfo, rev int64) ([]byte, int) {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], rev, 10)
	raw := make([]byte, 0, len(c)+len(d)+len(cd.headAPIVersion)+len(cd.headKind)+32)
	raw = append(raw, '{')
	if !top.hasAPIVersion {
		raw = append(raw, cd.headAPIVersion...)
	}
	if !top.hasKind {
		raw = append(raw, cd.headKind...)
	}
	raw = cd.appendTop(raw, c, top, 1, top.mdStart+1)
	raw = append(raw, `"resourceVersion":"`...)
	at := len(raw)
	raw = append(raw, d...)
	raw = append(raw, '"')
	for _, m := range md.keep {
		raw = append(raw, ',')
		raw = append(raw, c[m[0]:m[1]]...)
	}
	raw = append(raw, '}')
	raw = cd.appendTop(raw, c, top, top.mdEnd, len(c))
	return raw, at
}

// appendTop appends c[from:to], a run of top-level members, to raw, with
// the apiVersion's value replaced by the resource's when the resource
// rewrites it (Resource.RewriteAPIVersion) and it lies in the run.
func (cd *codec) appendTop(raw, c []byte, top topInfo, from, to int) []byte {
	if !cd.res.RewriteAPIVersion || top.avStart < from || top.avEnd > to ||
		bytes.Equal(c[top.avStart:top.avEnd], cd.quotedGV) {
		return append(raw, c[from:to]...)
	}
	raw = append(raw, c[from:top.avStart]...)
	raw = append(raw, cd.quotedGV...)
	return append(raw, c[top.avEnd:to]...)
}

// topInfo is what the codec needs from the top level of an object.
type topInfo struct {
	hasAPIVersion, hasKind bool
	mdStart, mdEnd         int // the metadata value c[mdStart:mdEnd]; -1 when absent
	avStart, avEnd         int // the apiVersion value c[avStart:avEnd]; -1 when absent
}

func scanTop(c []byte) topInfo {
	t := topInfo{mdStart: -1, mdEnd: -1, avStart: -1, avEnd: -1}
	it := memberIter{b: c, i: 1}
	for {
		k, vs, ve, ok := it.next()
		if !ok {
			return t
		}
		switch string(k) {
		case `"apiVersion"`:
			t.hasAPIVersion = true
			t.avStart, t.avEnd = vs, ve
		case `"kind"`:
			t.hasKind = true
		case `"metadata"`:
			t.mdStart, t.mdEnd = vs, ve
		}
	}
}

// metaInfo is the decoded part of metadata. keep lists the members (key
// start, value end) other than resourceVersion, in order.
type metaInfo struct {
	name, namespace, uid string
	labels               labels.Set
	keep                 [][2]int
}

// scanMetadata decodes metadata starting at c[start]; labelsOf builds the
// labels from their JSON value.
func scanMetadata(c []byte, start int, labelsOf func([]byte) (labels.Set, error)) (metaInfo, error) {
	var md metaInfo
	var err error
	it := memberIter{b: c, i: start + 1}
	for {
		ks := it.i
		if c[ks] == ',' {
			ks++
		}
		k, vs, ve, ok := it.next()
		if !ok {
			return md, nil
		}
		v := c[vs:ve]
		switch string(k) {
		case `"resourceVersion"`:
			continue
		case `"name"`:
			md.name, err = stringValue(v, "metadata.name")
		case `"namespace"`:
			md.namespace, err = stringValue(v, "metadata.namespace")
		case `"uid"`:
			md.uid, err = stringValue(v, "metadata.uid")
		case `"labels"`:
			md.labels, err = labelsOf(v)
		}
		if err != nil {
			return md, err
		}
		md.keep = append(md.keep, [2]int{ks, ve})
	}
}

// stringValue decodes a JSON string; null is "".
func stringValue(v []byte, field string) (string, error) {
	if string(v) == "null" {
		return "", nil
	}
	if len(v) < 2 || v[0] != '"' {
		return "", fmt.Errorf("%s is not a string", field)
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%s: %v", field, err)
	}
	return s, nil
}

func labelsValue(v []byte) (labels.Set, error) {
	if string(v) == "null" {
		return nil, nil
	}
	if v[0] != '{' {
		return nil, fmt.Errorf("metadata.labels is not an object")
	}
	var set labels.Set
	it := memberIter{b: v, i: 1}
	for {
		k, vs, ve, ok := it.next()
		if !ok {
			return set, nil
		}
		name, err := stringValue(k, "label key")
		if err != nil {
			return nil, err
		}
		val, err := stringValue(v[vs:ve], "metadata.labels["+name+"]")
		if err != nil {
			return nil, err
		}
		if set == nil {
			set = make(labels.Set)
		}
		set[name] = val
	}
}

// fieldPath is a selectable field path as quoted JSON keys, e.g.
// ["\"spec\"", "\"nodeName\""].
type fieldPath [][]byte

func splitFieldPath(p string) fieldPath {
	var fp fieldPath
	for seg := range strings.SplitSeq(p, ".") {
		q, _ := json.Marshal(seg)
		fp = append(fp, q)
	}
	return fp
}

// lookupField returns the value at path p in the compact object c as a
// field selector sees it: a string as is, a number or boolean as its JSON
// text, anything else (absent, null, object, array) as "".
func lookupField(c []byte, p fieldPath) string {
	vs, ve := 0, len(c)
	for _, seg := range p {
		if c[vs] != '{' {
			return ""
		}
		found := false
		it := memberIter{b: c[:ve], i: vs + 1}
		for {
			k, s, e, ok := it.next()
			if !ok {
				break
			}
			if bytes.Equal(k, seg) {
				vs, ve, found = s, e, true
				break
			}
		}
		if !found {
			return ""
		}
	}
	v := c[vs:ve]
	switch v[0] {
	case '"':
		s, _ := stringValue(v, "")
		return s
	case '{', '[', 'n':
		return ""
	default:
		return string(v)
	}
}

// memberIter walks the members of one object in compact, valid JSON. i
// starts just after the object's '{'.
type memberIter struct {
	b []byte
	i int
}

// next returns the next member's quoted key and the bounds of its value,
// or ok=false at the closing '}'.
func (it *memberIter) next() (key []byte, vs, ve int, ok bool) {
	b := it.b
	if it.i >= len(b) || b[it.i] == '}' {
		return nil, 0, 0, false
	}
	if b[it.i] == ',' {
		it.i++
	}
	ke := skipString(b, it.i)
	key = b[it.i:ke]
	vs = ke + 1 // skip ':'
	ve = skipValue(b, vs)
	it.i = ve
	return key, vs, ve, true
}

// skipString returns the index just past the string starting at b[i]=='"'.
// It jumps from quote to quote (IndexByte is vectorised); a quote preceded
// by an odd number of backslashes is escaped.
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b)
		}
		q := j + k
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
			j++
		}
		return j
	}
}
