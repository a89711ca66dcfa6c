package server

import (
	"net/http"
	"strings"
	"sync"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
)

// serveOpenAPIV2 answers /openapi/v2 with a valid OpenAPI v2 document that
// declares no schemas. watchcached does not know its resources' schemas,
// but clients fetch the document before writing: kubectl's create and apply
// validate against it by default, and without any document they stop with
// "failed to download openapi". An empty document lets them proceed (a kind
// without a schema is not validated client-side), which is what a
// kube-apiserver says of a resource it has no schema for.
//
// client-go asks for the protobuf form; anything else gets JSON.
func (s *Server) serveOpenAPIV2(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeMethodNotAllowed(w)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "protobuf") {
		w.Header().Set("Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(openAPIProto())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIJSON)
}

// openAPIJSON is the JSON form of the empty document.
var openAPIJSON = []byte(`{"swagger":"2.0","info":{"title":"watchcached","version":"v1"},"paths":{},"definitions":{}}`)

// openAPIProto is the protobuf form of the empty document, built once.
var openAPIProto = sync.OnceValue(func() []byte {
	b, err := proto.Marshal(&openapiv2.Document{
		Swagger:     "2.0",
		Info:        &openapiv2.Info{Title: "watchcached", Version: "v1"},
		Paths:       &openapiv2.Paths{},
		Definitions: &openapiv2.Definitions{},
	})
	if err != nil {
		panic(err) // a fixed, valid message always marshals
	}
	return b
})
