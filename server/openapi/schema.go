package openapi

import (
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// builder derives definitions from Go types. v3 selects the v3 forms
// (refs under #/components/schemas, oneOf types, allOf around a
// described ref). Used by one goroutine.
type builder struct {
	v3   bool
	defs map[string]spec.Schema
	gvks map[reflect.Type][]schema.GroupVersionKind
}

func newBuilder(v3 bool) *builder {
	b := &builder{v3: v3, defs: map[string]spec.Schema{}, gvks: map[reflect.Type][]schema.GroupVersionKind{}}
	for gvk, t := range scheme.Scheme.AllKnownTypes() {
		if gvk.Version != "__internal" {
			b.gvks[t] = append(b.gvks[t], gvk)
		}
	}
	return b
}

type modelNamer interface{ OpenAPIModelName() string }

type schemaTyper interface {
	OpenAPISchemaType() []string
	OpenAPISchemaFormat() string
}

type oneOfTyper interface{ OpenAPIV3OneOfTypes() []string }

// modelName is the definition name of a named type:
// "io.k8s.api.core.v1.Pod".
func modelName(t reflect.Type) string {
	if n, ok := reflect.Zero(t).Interface().(modelNamer); ok {
		return n.OpenAPIModelName()
	}
	if n, ok := reflect.New(t).Interface().(modelNamer); ok {
		return n.OpenAPIModelName()
	}
	parts := strings.Split(t.PkgPath(), "/")
	host := strings.Split(parts[0], ".")
	for i, j := 0, len(host)-1; i < j; i, j = i+1, j-1 {
		host[i], host[j] = host[j], host[i]
	}
	return strings.Join(append(append(host, parts[1:]...), t.Name()), ".")
}

// ref is the reference to a definition.
func (b *builder) ref(name string) spec.Schema {
	prefix := "#/definitions/"
	if b.v3 {
		prefix = "#/components/schemas/"
	}
	return *spec.RefSchema(prefix + name)
}

// typeSchema is the schema of a member of type t: a primitive inline, a
// reference to the definition of a struct or special type (defined on
// the way).
func (b *builder) typeSchema(t reflect.Type) spec.Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, ok := reflect.Zero(t).Interface().(schemaTyper); ok && t.Name() != "" {
		return b.ref(b.define(t))
	}
	switch t.Kind() {
	case reflect.Struct:
		return b.ref(b.define(t))
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			s := *spec.StringProperty()
			s.Format = "byte"
			return s
		}
		items := b.typeSchema(t.Elem())
		return *spec.ArrayProperty(&items)
	case reflect.Map:
		v := b.typeSchema(t.Elem())
		return *spec.MapProperty(&v)
	case reflect.String:
		return *spec.StringProperty()
	case reflect.Bool:
		return *spec.BoolProperty()
	case reflect.Int32, reflect.Int, reflect.Int16, reflect.Int8, reflect.Uint16, reflect.Uint8:
		return *spec.Int32Property()
	case reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return *spec.Int64Property()
	case reflect.Float64:
		return *spec.Float64Property()
	case reflect.Float32:
		return *spec.Float32Property()
	}
	return spec.Schema{} // interface{}: any value
}

// define adds the definition of the named type t (once) and returns its
// name.
func (b *builder) define(t reflect.Type) string {
	name := modelName(t)
	if _, ok := b.defs[name]; ok {
		return name
	}
	b.defs[name] = spec.Schema{} // placeholder: recursive types refer to it
	var s spec.Schema
	if st, ok := reflect.Zero(t).Interface().(schemaTyper); ok {
		s = b.special(t, st)
	} else {
		s = b.object(t)
	}
	if gvks := b.gvks[t]; len(gvks) > 0 {
		s.AddExtension("x-kubernetes-group-version-kind", gvkList(gvks))
	}
	b.defs[name] = s
	return name
}

// special is the definition of a type that says its own schema type.
func (b *builder) special(t reflect.Type, st schemaTyper) spec.Schema {
	s := spec.Schema{SchemaProps: spec.SchemaProps{Description: typeDoc(t)[""], Format: st.OpenAPISchemaFormat()}}
	if o, ok := st.(oneOfTyper); ok && b.v3 {
		for _, typ := range o.OpenAPIV3OneOfTypes() {
			s.OneOf = append(s.OneOf, spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{typ}}})
		}
		return s
	}
	s.Type = st.OpenAPISchemaType()
	return s
}

// object is the definition of a struct type.
func (b *builder) object(t reflect.Type) spec.Schema {
	s := spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}, Description: typeDoc(t)[""],
		Properties: map[string]spec.Schema{}}}
	b.members(t, &s)
	if len(s.Properties) == 0 {
		s.Properties = nil
	}
	sort.Strings(s.Required)
	return s
}

// members adds the members of struct t (inlined structs included) to s.
func (b *builder) members(t reflect.Type, s *spec.Schema) {
	doc := typeDoc(t)
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") || f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				b.members(ft, s)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := b.typeSchema(f.Type)
		p = b.described(p, doc[name])
		if ps := f.Tag.Get("patchStrategy"); ps != "" {
			p.AddExtension("x-kubernetes-patch-strategy", ps)
		}
		if mk := f.Tag.Get("patchMergeKey"); mk != "" {
			p.AddExtension("x-kubernetes-patch-merge-key", mk)
		}
		s.Properties[name] = p
		if !strings.Contains(opts, "omitempty") {
			s.Required = append(s.Required, name)
		}
	}
}

// described gives a member schema its description; a v3 reference cannot
// carry siblings, so it is wrapped in allOf, as kube-apiserver's v3
// documents do.
func (b *builder) described(p spec.Schema, desc string) spec.Schema {
	if desc == "" {
		return p
	}
	if b.v3 && p.Ref.String() != "" {
		return spec.Schema{SchemaProps: spec.SchemaProps{AllOf: []spec.Schema{p}, Description: desc}}
	}
	p.Description = desc
	return p
}

type swaggerDoc interface{ SwaggerDoc() map[string]string }

// typeDoc is the generated documentation of t's members ("" is the
// type's own), empty when it has none.
func typeDoc(t reflect.Type) map[string]string {
	if d, ok := reflect.Zero(t).Interface().(swaggerDoc); ok {
		return d.SwaggerDoc()
	}
	return map[string]string{}
}

// gvkList is the x-kubernetes-group-version-kind value, sorted.
func gvkList(gvks []schema.GroupVersionKind) []any {
	sort.Slice(gvks, func(i, j int) bool { return gvks[i].String() < gvks[j].String() })
	out := make([]any, len(gvks))
	for i, g := range gvks {
		out[i] = map[string]any{"group": g.Group, "version": g.Version, "kind": g.Kind}
	}
	return out
}
