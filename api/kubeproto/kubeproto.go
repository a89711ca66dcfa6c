// Package kubeproto writes Kubernetes protobuf as kube-apiserver serves it
// (application/vnd.kubernetes.protobuf) for the built-in kinds of
// client-go's scheme, from the JSON objects the stores hold.
//
// The wire forms, byte for byte those of apimachinery's protobuf
// serializers:
//
//   - an object (GET, a write's answer, a Status): the magic "k8s\x00",
//     then a runtime.Unknown {typeMeta {apiVersion, kind}, raw: the typed
//     object's protobuf, contentEncoding "", contentType ""};
//   - a list: the same envelope around <Kind>List {metadata: ListMeta,
//     items: each object's protobuf};
//   - a watch (application/vnd.kubernetes.protobuf;stream=watch): frames of
//     a 4-byte big-endian length, then a metav1.WatchEvent {type, object:
//     RawExtension {raw: the object in the envelope above}}, without magic
//     or envelope of its own (apimachinery's raw serializer).
//
// An object's protobuf (Encoder) is computed once from its JSON and kept
// with the object (api.Object.Encoded); the envelopes and frames around it
// are a few bytes built per response, so a list or a watch event costs no
// encoding per client. Everything here is safe for concurrent use.
package kubeproto

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/watchcached/watchcached/api"
)

// MediaType is Kubernetes protobuf's media type; WatchMediaType that of a
// watch stream of it.
const (
	MediaType      = "application/vnd.kubernetes.protobuf"
	WatchMediaType = MediaType + ";stream=watch"
)

// Magic begins every protobuf document (not watch frames). Read-only.
var Magic = []byte("k8s\x00")

// jsonDecoder decodes an object's JSON into its typed form by its
// apiVersion and kind; stateless.
var jsonDecoder = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, kjson.SerializerOptions{})

// Builtin reports whether the kind and its list kind are types of
// client-go's scheme, and so have a protobuf form.
func Builtin(gv schema.GroupVersion, kind string) bool {
	return scheme.Scheme.Recognizes(gv.WithKind(kind)) && scheme.Scheme.Recognizes(gv.WithKind(kind+"List"))
}

// marshaler is what every generated type of k8s.io/api implements.
type marshaler interface {
	Size() int
	MarshalToSizedBuffer([]byte) (int, error)
}

// Encoder is the api.Encoder of the objects' protobuf: their JSON decoded
// into the scheme's typed object, then marshalled (no envelope). Kinds the
// scheme does not know fail.
type Encoder struct{}

var _ api.Encoder = Encoder{}

// Encode returns the protobuf of o's typed object.
func (Encoder) Encode(o *api.Object) ([]byte, error) {
	obj, gvk, err := jsonDecoder.Decode(o.Raw, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("kubeproto: %s does not decode as a built-in kind: %w", o.Key, err)
	}
	b, err := Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("kubeproto: %s (%s): %w", o.Key, gvk, err)
	}
	return b, nil
}

// Marshal is the protobuf of a typed object (no envelope).
func Marshal(obj runtime.Object) ([]byte, error) {
	m, ok := obj.(marshaler)
	if !ok {
		return nil, fmt.Errorf("%T has no protobuf form", obj)
	}
	b := make([]byte, m.Size())
	n, err := m.MarshalToSizedBuffer(b)
	if err != nil {
		return nil, err
	}
	return b[len(b)-n:], nil
}

// AppendEnvelopeHead appends the magic and the runtime.Unknown envelope up
// to its raw bytes, for a raw of rawLen bytes of apiVersion/kind; the raw
// bytes and then EnvelopeTail follow.
func AppendEnvelopeHead(b []byte, apiVersion, kind string, rawLen int) []byte {
	b = append(b, Magic...)
	return appendUnknownHead(b, apiVersion, kind, rawLen)
}

// appendUnknownHead is AppendEnvelopeHead without the magic.
func appendUnknownHead(b []byte, apiVersion, kind string, rawLen int) []byte {
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(typeMetaLen(apiVersion, kind)))
	b = appendString(b, 1, apiVersion)
	b = appendString(b, 2, kind)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(rawLen))
}

// EnvelopeTail ends an envelope: its empty contentEncoding and
// contentType, which the generated marshallers always write. Read-only.
var EnvelopeTail = []byte{3<<3 | 2, 0, 4<<3 | 2, 0}

// EnvelopeLen is the size of an object of rawLen bytes in its envelope,
// magic included.
func EnvelopeLen(apiVersion, kind string, rawLen int) int {
	tm := typeMetaLen(apiVersion, kind)
	return len(Magic) + 1 + protowire.SizeVarint(uint64(tm)) + tm +
		1 + protowire.SizeVarint(uint64(rawLen)) + rawLen + len(EnvelopeTail)
}

func typeMetaLen(apiVersion, kind string) int {
	return stringLen(apiVersion) + stringLen(kind)
}

func stringLen(s string) int { return 1 + protowire.SizeVarint(uint64(len(s))) + len(s) }

func appendString(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// Document is obj (a typed object, e.g. a *metav1.Status) as a whole
// protobuf document: magic, envelope naming apiVersion and kind, raw.
func Document(obj runtime.Object, apiVersion, kind string) ([]byte, error) {
	raw, err := Marshal(obj)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, EnvelopeLen(apiVersion, kind, len(raw)))
	b = AppendEnvelopeHead(b, apiVersion, kind, len(raw))
	b = append(b, raw...)
	return append(b, EnvelopeTail...), nil
}

// Status is st as a protobuf document (apiVersion v1, kind Status).
func Status(st *metav1.Status) ([]byte, error) { return Document(st, "v1", "Status") }
