package api

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/client-go/util/jsonpath"
)

// Subresources are the subresources a resource serves besides the
// object itself, in the shape of a CustomResourceDefinition version's
// subresources: {status: {}, scale: {specReplicasPath: ...}}. A plain,
// read-only value once configured.
type Subresources struct {
	// Status, when set, serves <object>/status: a PUT or PATCH there
	// changes only .status, and writes of the object itself keep the
	// stored .status (kube-apiserver's status strategies).
	Status *StatusSubresource `json:"status,omitempty"`
	// Scale, when set, serves <object>/scale as an autoscaling/v1 Scale.
	Scale *ScaleSubresource `json:"scale,omitempty"`
}

// StatusSubresource enables the status subresource; it has no settings.
type StatusSubresource struct{}

// ScaleSubresource says where a Scale's fields live in the object, as
// simple JSON paths (".spec.replicas").
type ScaleSubresource struct {
	// SpecReplicasPath is the desired replica count (Scale spec.replicas).
	SpecReplicasPath string `json:"specReplicasPath"`
	// StatusReplicasPath is the observed count (Scale status.replicas).
	StatusReplicasPath string `json:"statusReplicasPath"`
	// LabelSelectorPath, optional, is Scale status.selector: a string in
	// label-selector form, or a metav1.LabelSelector object (as built-in
	// kinds keep spec.selector), which is rendered as a string.
	LabelSelectorPath string `json:"labelSelectorPath,omitempty"`
}

// HasStatus reports whether the resource serves the status subresource.
func (r *Resource) HasStatus() bool { return r.Subresources != nil && r.Subresources.Status != nil }

// ScaleConfig is the resource's scale subresource, or nil.
func (r *Resource) ScaleConfig() *ScaleSubresource {
	if r.Subresources == nil {
		return nil
	}
	return r.Subresources.Scale
}

// PrinterColumn is one extra column of the resource's server-side table
// (kubectl get), as a CRD's additionalPrinterColumns: its value is read
// from the object at JSONPath.
type PrinterColumn struct {
	Name        string `json:"name"`
	Type        string `json:"type"` // integer, number, string, boolean or date
	Format      string `json:"format,omitempty"`
	Description string `json:"description,omitempty"`
	Priority    int32  `json:"priority,omitempty"`
	JSONPath    string `json:"jsonPath"`
}

// printerColumnTypes are the column types kube-apiserver accepts.
var printerColumnTypes = map[string]bool{"integer": true, "number": true, "string": true, "boolean": true, "date": true}

// validateSubresources checks the scale paths and the printer columns.
func (r *Resource) validateSubresources() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("resource %q: %s", r.GroupResource(), fmt.Sprintf(format, args...))
	}
	if sc := r.ScaleConfig(); sc != nil {
		for _, p := range []struct{ name, path string }{
			{"specReplicasPath", sc.SpecReplicasPath}, {"statusReplicasPath", sc.StatusReplicasPath}, {"labelSelectorPath", sc.LabelSelectorPath},
		} {
			if p.path == "" && p.name == "labelSelectorPath" {
				continue
			}
			if !strings.HasPrefix(p.path, ".") || !validFieldPath(p.path[1:]) {
				return bad("subresources.scale.%s %q is not a simple JSON path such as .spec.replicas", p.name, p.path)
			}
		}
	}
	seen := map[string]bool{}
	for i, c := range r.PrinterColumns {
		switch {
		case c.Name == "":
			return bad("printerColumns[%d]: name is required", i)
		case seen[strings.ToLower(c.Name)] || strings.EqualFold(c.Name, "name"):
			return bad("printerColumns[%d]: column %q is given twice", i, c.Name)
		case !printerColumnTypes[c.Type]:
			return bad("printerColumns[%d]: type %q is not one of integer, number, string, boolean, date", i, c.Type)
		case c.Priority < 0:
			return bad("printerColumns[%d]: priority must not be negative", i)
		}
		seen[strings.ToLower(c.Name)] = true
		if err := jsonpath.New(c.Name).Parse("{" + c.JSONPath + "}"); err != nil || !strings.HasPrefix(c.JSONPath, ".") {
			return bad("printerColumns[%d]: invalid jsonPath %q", i, c.JSONPath)
		}
	}
	return nil
}

// SplitPath splits a simple JSON path ".spec.replicas" into its members.
func SplitPath(p string) []string { return strings.Split(strings.TrimPrefix(p, "."), ".") }

// StatusWriter is implemented by storages that serve the status
// subresource (B220). Implementations are safe for concurrent use.
type StatusWriter interface {
	// UpdateStatus replaces the stored object's .status with the body's
	// and keeps everything else; a metadata.resourceVersion in the body
	// is a precondition.
	UpdateStatus(ctx context.Context, namespace, name string, body []byte) (*Object, error)
	// PatchStatus applies a patch to the stored object and keeps only the
	// patched .status.
	PatchStatus(ctx context.Context, namespace, name string, patch Patch) (*Object, error)
}
