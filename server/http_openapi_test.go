package server

import (
	"net/http"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
)

// TestOpenAPIV2_EmptyDocument: /openapi/v2 answers the protobuf document
// client-go asks for (kubectl validates against it before create), JSON
// otherwise; other methods get 405.
func TestOpenAPIV2_EmptyDocument(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.do(t, "GET", "/openapi/v2", "", "Accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
	var doc openapiv2.Document
	if r.code != 200 || proto.Unmarshal([]byte(r.body), &doc) != nil || doc.Swagger != "2.0" || doc.Info.GetTitle() != "watchcached" {
		t.Fatalf("protobuf: %d %v", r.code, &doc)
	}
	r = f.do(t, "GET", "/openapi/v2", "", "Accept", "application/json")
	if r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("content type %q", r.header.Get("Content-Type"))
	}
	r.expect(t, 200, string(openAPIJSON))
	if r := f.do(t, "POST", "/openapi/v2", "{}"); r.code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", r.code)
	}
	if r := f.do(t, "GET", "/openapi/v3", ""); r.code != http.StatusNotFound {
		t.Fatalf("v3: %d", r.code)
	}
}
