package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/watchcached/watchcached/api"
)

// TestCheckResources_OverlappingPrefixes: two resources whose key prefixes
// are equal or nested, by the default layout or by keyPrefix, are refused
// with an error naming both entries; prefixes that only share characters
// within a path segment are not.
func TestCheckResources_OverlappingPrefixes(t *testing.T) {
	pods := &api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true}
	deployments := &api.Resource{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true}
	widgets := func(keyPrefix string) *api.Resource {
		return &api.Resource{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", KeyPrefix: keyPrefix}
	}
	for _, c := range []struct {
		name string
		list []*api.Resource
		want string // "" for no error
	}{
		{"DefaultLayoutNested", []*api.Resource{deployments, pods, {Version: "v1", Resource: "apps", Kind: "App"}},
			`entry 3 (resource "apps", key prefix "/registry/apps/") overlaps entry 1 (resource "deployments.apps", key prefix "/registry/apps/deployments/")`},
		{"KeyPrefixEqual", []*api.Resource{pods, widgets("pods")},
			`entry 2 (resource "widgets.example.com", key prefix "/registry/pods/") overlaps entry 1 (resource "pods", key prefix "/registry/pods/")`},
		{"KeyPrefixEqualWithSlashes", []*api.Resource{pods, widgets("/pods/")},
			`entry 2 (resource "widgets.example.com", key prefix "/registry/pods/") overlaps entry 1 (resource "pods", key prefix "/registry/pods/")`},
		{"KeyPrefixInside", []*api.Resource{pods, widgets("pods/widgets")},
			`entry 2 (resource "widgets.example.com", key prefix "/registry/pods/widgets/") overlaps entry 1 (resource "pods", key prefix "/registry/pods/")`},
		{"KeyPrefixAround", []*api.Resource{deployments, widgets("apps")},
			`entry 2 (resource "widgets.example.com", key prefix "/registry/apps/") overlaps entry 1 (resource "deployments.apps", key prefix "/registry/apps/deployments/")`},
		{"SameSegmentStart", []*api.Resource{pods, widgets("pods2")}, ""},
		{"Defaults", DefaultResources(), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Resources = c.list
			err := cfg.Validate()
			wantErrText(t, err, c.want)
		})
	}
}

// TestLoadResources_OverlappingPrefixes: the resources file is checked
// under the configured etcd prefix, and the error names the file.
func TestLoadResources_OverlappingPrefixes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.yaml")
	if err := os.WriteFile(p, []byte(`
- {version: v1, resource: configmaps, kind: ConfigMap, namespaced: true}
- {version: v1, resource: secrets, kind: Secret, namespaced: true}
- {group: example.com, version: v1, resource: widgets, kind: Widget, keyPrefix: secrets/widgets}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadResources(p, "/cluster-a")
	want := `--resources ` + p + `: entry 3 (resource "widgets.example.com", key prefix "/cluster-a/secrets/widgets/") ` +
		`overlaps entry 2 (resource "secrets", key prefix "/cluster-a/secrets/")`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// wantErrText fails unless err's text is want ("" wants no error).
func wantErrText(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("got %v, want no error", err)
	case want != "" && (err == nil || err.Error() != want):
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestLoadResources_B227_SubresourcesAndPrinterColumns: a resources file
// gives subresources and printer columns in a CRD's shape; bad ones are
// refused with the entry named.
func TestLoadResources_B227_SubresourcesAndPrinterColumns(t *testing.T) {
	dir := t.TempDir()
	load := func(body string) ([]*api.Resource, error) {
		p := filepath.Join(dir, "r.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadResources(p, "/registry")
	}
	list, err := load(`
- group: example.com
  version: v1
  resource: widgets
  kind: Widget
  namespaced: true
  subresources:
    status: {}
    scale: {specReplicasPath: .spec.size, statusReplicasPath: .status.size, labelSelectorPath: .status.selector}
  printerColumns:
  - {name: Size, type: integer, jsonPath: .spec.size, priority: 1, description: the size}
`)
	if err != nil {
		t.Fatal(err)
	}
	w := list[0]
	if !w.HasStatus() || w.ScaleConfig().SpecReplicasPath != ".spec.size" || len(w.PrinterColumns) != 1 ||
		w.PrinterColumns[0] != (api.PrinterColumn{Name: "Size", Type: "integer", JSONPath: ".spec.size", Priority: 1, Description: "the size"}) {
		t.Errorf("loaded %+v %+v %+v", w.Subresources, w.ScaleConfig(), w.PrinterColumns)
	}
	_, err = load(`[{group: example.com, version: v1, resource: widgets, kind: Widget, printerColumns: [{name: Size, type: int, jsonPath: .spec.size}]}]`)
	wantErrText(t, err, `--resources `+filepath.Join(dir, "r.yaml")+`: entry 1: resource "widgets.example.com": printerColumns[0]: type "int" is not one of integer, number, string, boolean, date`)
	_, err = load(`[{group: example.com, version: v1, resource: widgets, kind: Widget, printerColumns: [{name: Size, type: string, jsonPath: ".spec[x"}]}]`)
	wantErrText(t, err, `--resources `+filepath.Join(dir, "r.yaml")+`: entry 1: resource "widgets.example.com": printerColumns[0]: invalid jsonPath ".spec[x"`)
	_, err = load(`[{group: example.com, version: v1, resource: widgets, kind: Widget, subresources: {scale: {specReplicasPath: spec.size, statusReplicasPath: .status.size}}}]`)
	wantErrText(t, err, `--resources `+filepath.Join(dir, "r.yaml")+`: entry 1: resource "widgets.example.com": subresources.scale.specReplicasPath "spec.size" is not a simple JSON path such as .spec.replicas`)
}
