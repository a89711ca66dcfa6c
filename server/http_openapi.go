package server

import (
	"net/http"
	"strings"

	"github.com/watchcached/watchcached/server/openapi"
)

// OpenAPI (B228, B229): /openapi/v2 and /openapi/v3 describe the built-in
// kinds served (package openapi derives the schemas from the k8s.io/api
// types), so kubectl explain finds them and kubectl leaves field
// validation to the server, as against kube-apiserver. A kind without a
// schema (a custom resource) is not validated client-side, which is what
// kube-apiserver says of a resource it has no schema for. The documents
// are built on first use and kept.

// openAPIDocs builds the documents once; an error (which would be a bug
// in the builder) is answered as a 500 on every request.
func (s *Server) openAPIDocs() (*openapi.Documents, error) {
	s.openapiOnce.Do(func() {
		s.openapiDocs, s.openapiErr = openapi.Build(s.resourcesList())
	})
	return s.openapiDocs, s.openapiErr
}

// serveOpenAPI serves /openapi/v2, /openapi/v3 and
// /openapi/v3/<api|apis/<group>>/<version>. client-go asks for the
// protobuf form of v2; anything else gets JSON.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request, p string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeMethodNotAllowed(w)
		return
	}
	docs, err := s.openAPIDocs()
	if err != nil {
		writeError(w, s.log, err, nil)
		return
	}
	var body []byte
	ct := "application/json"
	switch {
	case p == "/openapi/v2" && strings.Contains(r.Header.Get("Accept"), "protobuf"):
		body, ct = docs.V2Proto, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	case p == "/openapi/v2":
		body = docs.V2
	case p == "/openapi/v3" || p == "/openapi/v3/":
		body = docs.V3Root
	default:
		doc, ok := docs.V3[strings.TrimPrefix(p, "/openapi/v3/")]
		if !ok {
			writeNotFound(w)
			return
		}
		body = doc
		if r.URL.Query().Get("hash") == openapi.Hash(doc) {
			w.Header().Set("Cache-Control", "public, immutable")
		}
	}
	w.Header().Set("Content-Type", ct)
	writeBodyAs(w, r, http.StatusOK, w.Header().Get("Content-Type"), body)
}
