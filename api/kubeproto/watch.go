package kubeproto

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// AppendEventHead appends a watch frame up to the raw bytes of its object
// (of rawLen bytes, of apiVersion/kind): the frame's length, the
// WatchEvent's type and the head of its object's envelope. The object's
// raw bytes and then EnvelopeTail end the frame.
func AppendEventHead(b []byte, eventType, apiVersion, kind string, rawLen int) []byte {
	doc := EnvelopeLen(apiVersion, kind, rawLen)
	ext := 1 + protowire.SizeVarint(uint64(doc)) + doc
	ev := stringLen(eventType) + 1 + protowire.SizeVarint(uint64(ext)) + ext
	b = binary.BigEndian.AppendUint32(b, uint32(ev))
	b = appendString(b, 1, eventType)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(ext))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(doc))
	return AppendEnvelopeHead(b, apiVersion, kind, rawLen)
}

// AppendEventFrame appends a whole watch frame around a document's raw
// bytes (AppendEventHead, raw, EnvelopeTail).
func AppendEventFrame(b []byte, eventType, apiVersion, kind string, raw []byte) []byte {
	b = AppendEventHead(b, eventType, apiVersion, kind, len(raw))
	b = append(b, raw...)
	return append(b, EnvelopeTail...)
}

// BookmarkRaw is the protobuf of a bookmark's object: an empty object of
// the kind with only metadata.resourceVersion set, and the annotation
// k8s.io/initial-events-end when it ends a watch's initial events.
func BookmarkRaw(gv schema.GroupVersion, kind string, rv string, initialEventsEnd bool) ([]byte, error) {
	obj, err := scheme.Scheme.New(gv.WithKind(kind))
	if err != nil {
		return nil, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("kubeproto: %s has no metadata: %w", kind, err)
	}
	m.SetResourceVersion(rv)
	if initialEventsEnd {
		m.SetAnnotations(map[string]string{"k8s.io/initial-events-end": "true"})
	}
	return Marshal(obj)
}
