package api

import (
	"fmt"
	"strings"
)

// PatchType is how a patch body is applied, named by its media type (the
// Content-Type of an HTTP PATCH).
type PatchType string

// The patch types storages apply (B53, B75, B76, B210).
const (
	// MergePatch is an RFC 7386 JSON merge patch.
	MergePatch PatchType = "application/merge-patch+json"
	// JSONPatch is an RFC 6902 JSON patch: a list of operations.
	JSONPatch PatchType = "application/json-patch+json"
	// StrategicMergePatch is Kubernetes' strategic merge patch, for the
	// kinds whose Go types are known (the built-in kinds).
	StrategicMergePatch PatchType = "application/strategic-merge-patch+json"
	// ApplyPatch is a server-side apply (B210): the fields the manager
	// wants, in YAML (or JSON), merged with the fields other managers own.
	ApplyPatch PatchType = "application/apply-patch+yaml"
)

// Patch is a patch body and how to apply it. A plain value.
type Patch struct {
	Type PatchType
	Data []byte
}

// NewMergePatch is the Patch of an RFC 7386 JSON merge patch.
func NewMergePatch(data []byte) Patch { return Patch{Type: MergePatch, Data: data} }

// PatchTypes lists the patch types a resource accepts, in kube-apiserver's
// order: strategic merge patch only for built-in kinds.
func PatchTypes(builtin bool) []PatchType {
	if builtin {
		return []PatchType{JSONPatch, MergePatch, StrategicMergePatch, ApplyPatch}
	}
	return []PatchType{JSONPatch, MergePatch, ApplyPatch}
}

// UnsupportedPatch is ErrUnsupportedMediaType for a patch type not in
// accepted, worded as kube-apiserver's negotiation error.
func UnsupportedPatch(accepted []PatchType) *Error {
	names := make([]string, len(accepted))
	for i, t := range accepted {
		names[i] = string(t)
	}
	return Errorf(ErrUnsupportedMediaType,
		"the body of the request was in an unknown format - accepted media types include: %s", strings.Join(names, ", "))
}

// TooLarge is ErrTooLarge with kube-apiserver's message prefix.
func TooLarge(format string, args ...any) *Error {
	return Errorf(ErrTooLarge, "Request entity too large: %s", fmt.Sprintf(format, args...))
}
