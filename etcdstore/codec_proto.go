package etcdstore

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/watchcached/watchcached/api"
)

// Values as kube-apiserver stores them.
//
// kube-apiserver writes built-in kinds in Kubernetes protobuf: the magic
// "k8s\x00", then a runtime.Unknown naming apiVersion and kind around the
// object's protobuf bytes. Such a value is decoded with client-go's scheme
// (every built-in kind of k8s.io/api) into the typed Go object and encoded
// once with the scheme's JSON serializer, which gives the bytes
// kube-apiserver serves; from there the JSON path (decodeCompact: already
// compact, so not scanned again) splices the
// resourceVersion and extracts metadata and selectable fields, so an object
// costs one protobuf decode and one JSON encode when it is read from etcd,
// and nothing per watcher or per request after that.
//
// A value encrypted at rest ("k8s:enc:<provider>:...") cannot be read
// (watchcached has no keys); it is undecodable, with a reason naming the
// provider, and the store warns once per resource (Store.markCorrupt).

var (
	protoMagic = []byte("k8s\x00")
	encPrefix  = []byte("k8s:enc:")

	// protoSerializer and jsonSerializer are stateless and safe for
	// concurrent use.
	protoSerializer = protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	jsonSerializer  = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, kjson.SerializerOptions{})
)

// jsonPool holds the scratch buffers (*bytes.Buffer) of the JSON encoding.
var jsonPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeK8s decodes a value that begins with 'k': Kubernetes protobuf or an
// encrypted value; anything else goes to the JSON path (and fails there).
func (cd *codec) decodeK8s(key string, value []byte, modRevision int64) (*api.Object, error) {
	switch {
	case bytes.HasPrefix(value, protoMagic):
		return cd.decodeProtobuf(key, value, modRevision)
	case bytes.HasPrefix(value, encPrefix):
		return nil, &encryptedError{key: key, provider: encryptedProvider(value[len(encPrefix):])}
	}
	return cd.decodeJSON(key, value, modRevision)
}

// decodeProtobuf translates a protobuf value to the JSON kube-apiserver
// serves and decodes that. The stored kind must be the resource's kind at
// the resource's version.
func (cd *codec) decodeProtobuf(key string, value []byte, modRevision int64) (*api.Object, error) {
	if modRevision <= 0 {
		return nil, undecodable(key, "mod revision %d is not positive", modRevision)
	}
	obj, err := decodeProtobufAs(key, value, schema.GroupVersionKind{Group: cd.res.Group, Version: cd.res.Version, Kind: cd.res.Kind})
	if err != nil {
		return nil, err
	}
	return cd.decodeTyped(key, obj, modRevision)
}

// decodeProtobufAs decodes a protobuf value into the typed object of kind
// want; another kind is undecodable.
func decodeProtobufAs(key string, value []byte, want schema.GroupVersionKind) (runtime.Object, error) {
	obj, gvk, err := protoSerializer.Decode(value, nil, nil)
	switch {
	case err != nil && runtime.IsNotRegisteredError(err):
		return nil, undecodable(key, "protobuf of %s, a kind not built into Kubernetes", kindString(gvk))
	case err != nil:
		return nil, undecodable(key, "protobuf does not decode: %v", err)
	}
	if *gvk != want {
		return nil, undecodable(key, "the stored object is %s, not %s", kindString(gvk), kindString(&want))
	}
	return obj, nil
}

// decodeTyped encodes a typed object once as the JSON kube-apiserver
// serves and decodes that.
func (cd *codec) decodeTyped(key string, obj runtime.Object, modRevision int64) (*api.Object, error) {
	buf := jsonPool.Get().(*bytes.Buffer)
	defer jsonPool.Put(buf)
	buf.Reset()
	if err := jsonSerializer.Encode(obj, buf); err != nil {
		gvk := obj.GetObjectKind().GroupVersionKind()
		return nil, undecodable(key, "%s does not encode as JSON: %v", kindString(&gvk), err)
	}
	// encoding/json writes valid, compact JSON and a newline.
	js := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if o := cd.fromTyped(key, obj, js, modRevision); o != nil {
		return o, nil
	}
	return cd.decodeCompact(key, js, modRevision)
}

// metadataOpen starts the metadata member in the JSON of a typed object,
// which encoding/json writes after kind and apiVersion.
var metadataOpen = []byte(`"metadata":{`)

// fromTyped is decodeCompact's result for js, the JSON encoding of the
// typed obj, built from obj's metadata instead of scanning js again: the
// resourceVersion goes first in metadata, as spliceRV puts it, and the
// selectable fields are looked up in js. It returns nil for anything the
// general path must judge (no name, a key that does not match, a
// resourceVersion already set, an unexpected layout).
func (cd *codec) fromTyped(key string, obj runtime.Object, js []byte, modRevision int64) *api.Object {
	m, err := meta.Accessor(obj)
	if err != nil || m.GetName() == "" || m.GetResourceVersion() != "" || modRevision <= 0 ||
		!bytes.HasPrefix(js, []byte(`{"kind":`)) {
		return nil
	}
	ns, name, ok := cd.keyNames(key, m.GetNamespace(), m.GetName())
	if !ok {
		return nil
	}
	i := bytes.Index(js, metadataOpen)
	if i < 0 || i+len(metadataOpen) >= len(js) {
		return nil
	}
	i += len(metadataOpen)
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], modRevision, 10)
	raw := make([]byte, 0, len(js)+len(d)+len(`"resourceVersion":"",`))
	raw = append(raw, js[:i]...)
	raw = append(raw, `"resourceVersion":"`...)
	at := len(raw)
	raw = append(raw, d...)
	raw = append(raw, '"')
	if js[i] != '}' {
		raw = append(raw, ',')
	}
	raw = append(raw, js[i:]...)
	o := &api.Object{Key: key, Namespace: ns, Name: name, UID: string(m.GetUID()),
		RV: uint64(modRevision), Raw: raw, RVAt: at}
	if l := m.GetLabels(); len(l) > 0 {
		// The labels' JSON as encoded, a slice of js, is the key that
		// shares them with other objects of the same labels, as in
		// decodeCompact.
		if lj := labelsJSON(js[i:]); lj != nil {
			o.Labels, _ = cd.shared.labelsOf(lj)
		} else {
			o.Labels = l
		}
	}
	var vals [8]string
	values := vals[:0]
	for j, p := range cd.fieldPaths {
		v := lookupField(js, p)
		if v == "" {
			v = cd.fieldDefaults[j]
		}
		values = append(values, v)
	}
	var scratch [64]byte
	o.Fields, _ = cd.shared.fieldsOf(cd.res.SelectableFields, values, scratch[:0])
	return o
}

// kindString names a kind as "apps/v1 Deployment".
func kindString(gvk *schema.GroupVersionKind) string {
	if gvk == nil || gvk.Kind == "" {
		return "an unnamed kind"
	}
	return gvk.GroupVersion().String() + " " + gvk.Kind
}

// encryptedError is the error of a value encrypted at rest. It wraps
// ErrUndecodable, so the value is treated as every undecodable one.
type encryptedError struct {
	key      string
	provider string // "aescbc, key key1", "kms v2, provider vault"
}

func (e *encryptedError) Error() string {
	return ErrUndecodable.Error() + ": " + e.key + ": value is encrypted at rest (" + e.provider +
		"); watchcached cannot decrypt it"
}

func (e *encryptedError) Is(target error) bool { return target == ErrUndecodable }

// isEncrypted reports whether err is the error of an encrypted value.
func isEncrypted(err error) bool {
	var enc *encryptedError
	return errors.As(err, &enc)
}

// encryptedProvider names the provider of an encrypted value from what
// follows "k8s:enc:": "<provider>:<version>:<key name>:<ciphertext>" for
// every provider of kube-apiserver (aescbc, aesgcm, secretbox, kms).
func encryptedProvider(rest []byte) string {
	parts := bytes.SplitN(rest, []byte(":"), 4)
	name := func(i int) string {
		if i >= len(parts)-1 || len(parts[i]) == 0 || len(parts[i]) > 64 {
			return ""
		}
		s := string(parts[i])
		if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) >= 0 {
			return ""
		}
		return s
	}
	provider := name(0)
	if provider == "" {
		return "unknown provider"
	}
	if provider == "kms" {
		if v := name(1); v != "" {
			provider += " " + v
		}
		if k := name(2); k != "" {
			provider += ", provider " + k
		}
		return provider
	}
	if k := name(2); k != "" {
		provider += ", key " + k
	}
	return provider
}

// labelsJSONKey starts the labels member in an encoded ObjectMeta.
var labelsJSONKey = []byte(`"labels":{`)

// labelsJSON returns the labels object of the encoded metadata md (which
// starts after metadata's opening brace), or nil if it is not found
// before the metadata ends. encoding/json writes label keys and values
// as strings without unescaped braces, so the object ends at the first
// '}' outside a string.
func labelsJSON(md []byte) []byte {
	i := bytes.Index(md, labelsJSONKey)
	if i < 0 {
		return nil
	}
	start := i + len(labelsJSONKey) - 1
	in := false
	for j := start + 1; j < len(md); j++ {
		switch c := md[j]; {
		case in && c == '\\':
			j++
		case c == '"':
			in = !in
		case !in && c == '}':
			return md[start : j+1]
		}
	}
	return nil
}
