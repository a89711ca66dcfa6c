package server

import (
	"encoding/json"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
)

// Request bodies in Kubernetes protobuf.
//
// client-go's typed clientset encodes the bodies of creates, updates and
// deletes of built-in types as application/vnd.kubernetes.protobuf unless
// its rest.Config says otherwise. The server stores and serves JSON only, so
// such a body is translated once, at the edge: decoded with client-go's own
// scheme into the typed Go object, encoded as JSON, and then checked and
// written exactly like a JSON body. The translation is the only place the
// server decodes a typed object; it costs a few microseconds per write and
// nothing on reads. A protobuf body of a kind the scheme does not know (a
// custom resource has no protobuf form) is answered 415, as is one that does
// not decode. Responses follow Accept (negotiate, http_proto.go).

const mediaProtobuf = "application/vnd.kubernetes.protobuf"

// protoSerializer decodes the protobuf envelope (magic prefix, then a
// runtime.Unknown naming apiVersion and kind) into the scheme's typed
// objects. It is stateless and safe for concurrent use.
var protoSerializer = protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)

// isProtobufBody reports whether the request's body is Kubernetes protobuf.
func isProtobufBody(r *http.Request) bool { return mediaTypeIs(r, mediaProtobuf) }

// protobufToJSON translates a Kubernetes protobuf body into the JSON of the
// same object, with its apiVersion and kind set. The error is a 415 Status
// that says why the body cannot be accepted.
func protobufToJSON(body []byte) ([]byte, *metav1.Status) {
	obj, gvk, err := protoSerializer.Decode(body, nil, nil)
	switch {
	case err != nil && runtime.IsNotRegisteredError(err):
		return nil, unsupportedProtobuf(fmt.Sprintf("%s is not a kind built into client-go (send it as %s)", gvkString(gvk), mediaJSON))
	case err != nil:
		return nil, unsupportedProtobuf(fmt.Sprintf("the body does not decode: %v", err))
	}
	obj.GetObjectKind().SetGroupVersionKind(*gvk)
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, unsupportedProtobuf(fmt.Sprintf("%s does not encode as JSON: %v", gvkString(gvk), err))
	}
	return b, nil
}

// gvkString names a kind as "apps/v1, Kind=Deployment".
func gvkString(gvk *schema.GroupVersionKind) string {
	if gvk == nil || gvk.Empty() {
		return "an unnamed kind"
	}
	return gvk.String()
}

// unsupportedProtobuf is the 415 Status of a protobuf body the server
// cannot translate.
func unsupportedProtobuf(why string) *metav1.Status {
	return newStatus(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
		fmt.Sprintf("the body of the request was in %s, which is accepted only for kinds built into client-go: %s",
			mediaProtobuf, why))
}
