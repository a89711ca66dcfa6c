// Package openapi builds the OpenAPI v2 and v3 documents of the built-in
// kinds a server serves (B228, B229), so that kubectl explain and
// kubectl's field validation work against watchcached.
//
// Kubernetes ships no importable OpenAPI document or generated
// definitions for k8s.io/api (they live in k8s.io/kubernetes, which
// cannot be imported as a library), so the schemas are derived from the
// k8s.io/api Go types themselves, the way kube-openapi's generator reads
// them: JSON names and omitempty from the struct tags (a member without
// omitempty is required), descriptions from the types' generated
// SwaggerDoc(), model names from their generated OpenAPIModelName(), the
// special string types (Time, Quantity, IntOrString, ...) from their
// OpenAPISchemaType/Format methods, patch strategies and merge keys from
// the patchStrategy and patchMergeKey tags, and
// x-kubernetes-group-version-kind from client-go's scheme. The documents
// are shaped with kube-openapi's spec (v2) and spec3 (v3) types.
//
// What differs from kube-apiserver's: members that are optional only by
// a "+optional" comment (no omitempty) are listed as required, list
// types and maps' x-kubernetes-list-* markers are absent, enums are not
// listed, and the paths carry only the operations and query parameters
// kubectl looks for. Custom resources have no schema here.
package openapi
