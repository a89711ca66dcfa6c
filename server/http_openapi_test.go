package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"

	"github.com/watchcached/watchcached/server/openapi"
)

// TestOpenAPI_B228_V2Document: /openapi/v2 describes the served built-in
// kinds, in protobuf for client-go and JSON otherwise; other methods get
// 405.
func TestOpenAPI_B228_V2Document(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.do(t, "GET", "/openapi/v2", "", "Accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
	var doc openapiv2.Document
	if r.code != 200 || proto.Unmarshal([]byte(r.body), &doc) != nil || doc.Swagger != "2.0" || doc.Info.GetTitle() != "watchcached" {
		t.Fatalf("protobuf: %d %v", r.code, &doc)
	}
	r = f.do(t, "GET", "/openapi/v2", "", "Accept", "application/json")
	if r.code != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("json: %d %q", r.code, r.header.Get("Content-Type"))
	}
	var v2 struct {
		Definitions map[string]json.RawMessage `json:"definitions"`
		Paths       map[string]map[string]struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
			GVK        map[string]string           `json:"x-kubernetes-group-version-kind"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.body), &v2); err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Ref         string `json:"$ref"`
			Type        string `json:"type"`
			PatchMerge  string `json:"x-kubernetes-patch-merge-key"`
			PatchStrat  string `json:"x-kubernetes-patch-strategy"`
			Description string `json:"description"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(v2.Definitions["io.k8s.api.core.v1.PodSpec"], &spec); err != nil {
		t.Fatal(err)
	}
	c := spec.Properties["containers"]
	if strings.Join(spec.Required, ",") != "containers" || c.Type != "array" || c.PatchMerge != "name" || c.PatchStrat != "merge" ||
		!strings.HasPrefix(c.Description, "List of containers belonging to the pod.") {
		t.Errorf("PodSpec: %+v", spec)
	}
	for _, name := range []string{"io.k8s.api.core.v1.Pod", "io.k8s.api.core.v1.PodList", "io.k8s.api.apps.v1.Deployment",
		"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "io.k8s.apimachinery.pkg.api.resource.Quantity"} {
		if v2.Definitions[name] == nil {
			t.Errorf("no definition %s", name)
		}
	}
	patch := v2.Paths["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
	if patch.GVK["kind"] != "Pod" || len(patch.Parameters) != 3 || patch.Parameters[2].Name != "fieldValidation" || patch.Parameters[2].In != "query" {
		t.Errorf("pod patch path: %+v", patch)
	}
	if r := f.do(t, "POST", "/openapi/v2", "{}"); r.code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", r.code)
	}
}

// TestOpenAPI_B229_V3Documents: /openapi/v3 lists one document per
// served groupVersion with its hash; each describes its kinds with
// x-kubernetes-group-version-kind; unknown groupVersions are 404.
func TestOpenAPI_B229_V3Documents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.do(t, "GET", "/openapi/v3", "")
	var root struct {
		Paths map[string]struct{ ServerRelativeURL string } `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.body), &root); err != nil || len(root.Paths) != 2 {
		t.Fatalf("root: %d %s", r.code, r.body)
	}
	core := f.do(t, "GET", "/openapi/v3/api/v1", "")
	if want := "/openapi/v3/api/v1?hash=" + openapi.Hash([]byte(core.body)); root.Paths["api/v1"].ServerRelativeURL != want {
		t.Errorf("core URL %q, want %q", root.Paths["api/v1"].ServerRelativeURL, want)
	}
	var doc struct {
		OpenAPI    string `json:"openapi"`
		Components struct {
			Schemas map[string]struct {
				GVK        []map[string]string `json:"x-kubernetes-group-version-kind"`
				Properties map[string]struct {
					AllOf []struct {
						Ref string `json:"$ref"`
					} `json:"allOf"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(core.body), &doc); err != nil {
		t.Fatal(err)
	}
	pod := doc.Components.Schemas["io.k8s.api.core.v1.Pod"]
	if doc.OpenAPI != "3.0.0" || len(pod.GVK) != 1 || pod.GVK[0]["kind"] != "Pod" || pod.GVK[0]["version"] != "v1" ||
		len(pod.Properties["spec"].AllOf) != 1 || pod.Properties["spec"].AllOf[0].Ref != "#/components/schemas/io.k8s.api.core.v1.PodSpec" {
		t.Errorf("pod schema: %+v", pod)
	}
	if r := f.do(t, "GET", "/openapi/v3/apis/batch/v1", ""); r.code != 404 {
		t.Errorf("batch/v1: %d", r.code)
	}
}
