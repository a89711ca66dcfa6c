package openapi

import (
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/watchcached/watchcached/api"
)

// Documents are the OpenAPI documents of a set of resources, built once
// by Build; read-only afterwards.
type Documents struct {
	// V2 is the /openapi/v2 document (JSON), V2Proto its protobuf form.
	V2, V2Proto []byte
	// V3 holds each groupVersion's /openapi/v3 document (JSON) by its
	// path below /openapi/v3/: "api/v1", "apis/apps/v1".
	V3 map[string][]byte
	// V3Root is /openapi/v3: each groupVersion's path and URL with the
	// document's hash.
	V3Root []byte
}

// served is one built-in resource with its Go type.
type served struct {
	res  *api.Resource
	gvk  schema.GroupVersionKind
	typ  reflect.Type
	list reflect.Type // nil when the scheme has no <Kind>List
}

// builtins are the resources whose kind client-go's scheme knows.
func builtins(resources []*api.Resource) []served {
	var out []served
	for _, r := range resources {
		gvk := schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
		t, ok := scheme.Scheme.AllKnownTypes()[gvk]
		if !ok {
			continue
		}
		s := served{res: r, gvk: gvk, typ: t}
		if lt, ok := scheme.Scheme.AllKnownTypes()[gvk.GroupKind().WithVersion(gvk.Version).GroupVersion().WithKind(r.Kind+"List")]; ok {
			s.list = lt
		}
		out = append(out, s)
	}
	return out
}

// gvPath is the path of a groupVersion below /openapi/v3/.
func gvPath(group, version string) string {
	if group == "" {
		return "api/" + version
	}
	return "apis/" + group + "/" + version
}

// Build builds the documents of resources' built-in kinds.
func Build(resources []*api.Resource) (*Documents, error) {
	bs := builtins(resources)
	v2, err := buildV2(bs)
	if err != nil {
		return nil, err
	}
	doc, err := openapiv2.ParseDocument(v2)
	if err != nil {
		return nil, fmt.Errorf("openapi v2 document does not parse: %w", err)
	}
	pb, err := proto.Marshal(doc)
	if err != nil {
		return nil, err
	}
	d := &Documents{V2: v2, V2Proto: pb, V3: map[string][]byte{}}
	byGV := map[string][]served{}
	for _, s := range bs {
		p := gvPath(s.gvk.Group, s.gvk.Version)
		byGV[p] = append(byGV[p], s)
	}
	root := map[string]map[string]string{}
	for p, list := range byGV {
		b, err := buildV3(list)
		if err != nil {
			return nil, err
		}
		d.V3[p] = b
		root[p] = map[string]string{"serverRelativeURL": "/openapi/v3/" + p + "?hash=" + Hash(b)}
	}
	if d.V3Root, err = json.Marshal(map[string]any{"paths": root}); err != nil {
		return nil, err
	}
	return d, nil
}

// Hash is a document's hash as kube-apiserver puts it in the v3 URLs.
func Hash(b []byte) string { return fmt.Sprintf("%X", sha512.Sum512(b)) }

// roots defines the kinds (and lists) of list in b and returns the
// scale's definition name when one of them has a scale subresource.
func roots(b *builder, list []served) {
	for _, s := range list {
		b.define(s.typ)
		if s.list != nil {
			b.define(s.list)
		}
		if s.res.ScaleConfig() != nil {
			b.define(reflect.TypeOf(autoscalingv1.Scale{}))
		}
	}
}

func buildV2(list []served) ([]byte, error) {
	b := newBuilder(false)
	roots(b, list)
	sw := &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger: "2.0", Info: &spec.Info{InfoProps: spec.InfoProps{Title: "watchcached", Version: "v1.37.0"}},
		Paths: &spec.Paths{Paths: map[string]spec.PathItem{}}, Definitions: spec.Definitions{},
	}}
	for name, s := range b.defs {
		sw.Definitions[name] = s
	}
	for _, s := range list {
		for p, item := range pathsV2(b, s) {
			sw.Paths.Paths[p] = item
		}
	}
	return json.Marshal(sw)
}

func buildV3(list []served) ([]byte, error) {
	b := newBuilder(true)
	roots(b, list)
	doc := &spec3.OpenAPI{Version: "3.0.0",
		Info:       &spec.Info{InfoProps: spec.InfoProps{Title: "watchcached", Version: "v1.37.0"}},
		Paths:      &spec3.Paths{Paths: map[string]*spec3.Path{}},
		Components: &spec3.Components{Schemas: map[string]*spec.Schema{}}}
	names := make([]string, 0, len(b.defs))
	for n := range b.defs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := b.defs[n]
		doc.Components.Schemas[n] = &s
	}
	for _, s := range list {
		for p, item := range pathsV3(b, s) {
			doc.Paths.Paths[p] = item
		}
	}
	return json.Marshal(doc)
}

// objectPaths are a resource's collection and object paths.
func objectPaths(r *api.Resource) (collection, object string) {
	base := "/api/" + r.Version
	if r.Group != "" {
		base = "/apis/" + r.Group + "/" + r.Version
	}
	if r.Namespaced {
		base += "/namespaces/{namespace}"
	}
	collection = base + "/" + r.Resource
	return collection, collection + "/{name}"
}

// opID names an operation as kube-apiserver does, roughly:
// "patchCoreV1NamespacedPod".
func opID(verb string, s served) string {
	g := "Core"
	if s.gvk.Group != "" {
		g = strings.ToUpper(s.gvk.Group[:1]) + strings.Split(s.gvk.Group, ".")[0][1:]
	}
	ns := ""
	if s.res.Namespaced {
		ns = "Namespaced"
	}
	return verb + g + strings.ToUpper(s.gvk.Version[:1]) + s.gvk.Version[1:] + ns + s.gvk.Kind
}

// writeParams are the query parameters of writes kubectl checks for.
var writeParams = []string{"dryRun", "fieldManager", "fieldValidation"}

func gvkExt(s served) map[string]any {
	return map[string]any{"group": s.gvk.Group, "version": s.gvk.Version, "kind": s.gvk.Kind}
}
