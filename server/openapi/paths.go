package openapi

import (
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// The paths of a resource: get/list, create, update, patch and delete,
// each with x-kubernetes-action and x-kubernetes-group-version-kind and,
// for writes, the dryRun, fieldManager and fieldValidation query
// parameters (kubectl decides from a PATCH's parameters whether the
// server validates fields itself).

func pathsV2(b *builder, s served) map[string]spec.PathItem {
	coll, obj := objectPaths(s.res)
	kindRef := b.ref(modelName(s.typ))
	op := func(verb, action string, write bool, out spec.Schema) *spec.Operation {
		o := &spec.Operation{OperationProps: spec.OperationProps{ID: opID(verb, s),
			Responses: &spec.Responses{ResponsesProps: spec.ResponsesProps{StatusCodeResponses: map[int]spec.Response{
				200: {ResponseProps: spec.ResponseProps{Description: "OK", Schema: &out}}}}}}}
		if write {
			for _, p := range writeParams {
				o.Parameters = append(o.Parameters, spec.Parameter{ParamProps: spec.ParamProps{Name: p, In: "query"},
					SimpleSchema: spec.SimpleSchema{Type: "string"}, CommonValidations: spec.CommonValidations{UniqueItems: true}})
			}
		}
		o.AddExtension("x-kubernetes-action", action)
		o.AddExtension("x-kubernetes-group-version-kind", gvkExt(s))
		return o
	}
	listOut := kindRef
	if s.list != nil {
		listOut = b.ref(modelName(s.list))
	}
	return map[string]spec.PathItem{
		coll: {PathItemProps: spec.PathItemProps{Get: op("list", "list", false, listOut), Post: op("create", "post", true, kindRef)}},
		obj: {PathItemProps: spec.PathItemProps{Get: op("read", "get", false, kindRef), Put: op("replace", "put", true, kindRef),
			Patch: op("patch", "patch", true, kindRef), Delete: op("delete", "delete", false, kindRef)}},
	}
}

func pathsV3(b *builder, s served) map[string]*spec3.Path {
	coll, obj := objectPaths(s.res)
	kindRef := b.ref(modelName(s.typ))
	op := func(verb, action string, write bool, out spec.Schema) *spec3.Operation {
		o := &spec3.Operation{OperationProps: spec3.OperationProps{OperationId: opID(verb, s),
			Responses: &spec3.Responses{ResponsesProps: spec3.ResponsesProps{StatusCodeResponses: map[int]*spec3.Response{
				200: {ResponseProps: spec3.ResponseProps{Description: "OK", Content: map[string]*spec3.MediaType{
					"application/json": {MediaTypeProps: spec3.MediaTypeProps{Schema: &out}}}}}}}}}}
		if write {
			for _, p := range writeParams {
				o.Parameters = append(o.Parameters, &spec3.Parameter{ParameterProps: spec3.ParameterProps{Name: p, In: "query",
					Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"string"}, UniqueItems: true}}}})
			}
		}
		o.AddExtension("x-kubernetes-action", action)
		o.AddExtension("x-kubernetes-group-version-kind", gvkExt(s))
		return o
	}
	listOut := kindRef
	if s.list != nil {
		listOut = b.ref(modelName(s.list))
	}
	return map[string]*spec3.Path{
		coll: {PathProps: spec3.PathProps{Get: op("list", "list", false, listOut), Post: op("create", "post", true, kindRef)}},
		obj: {PathProps: spec3.PathProps{Get: op("read", "get", false, kindRef), Put: op("replace", "put", true, kindRef),
			Patch: op("patch", "patch", true, kindRef), Delete: op("delete", "delete", false, kindRef)}},
	}
}
