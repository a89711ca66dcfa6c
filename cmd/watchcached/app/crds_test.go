package app

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/watchcached/watchcached/api"
)

// crdJSON is a stored CRD with the given versions (JSON array), scope and
// Established status.
func crdJSON(versions, scope, established string) string {
	return `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"gadgets.example.org"},` +
		`"spec":{"group":"example.org","names":{"plural":"gadgets","singular":"gadget","kind":"Gadget","listKind":"GadgetList"},` +
		`"scope":"` + scope + `","versions":` + versions + `},` +
		`"status":{"conditions":[{"type":"Established","status":"` + established + `"}],` +
		`"acceptedNames":{"plural":"gadgets","singular":"gadget","kind":"Gadget","listKind":"GadgetList","shortNames":["gd"],"categories":["all"]}}}`
}

// TestB190_CRDResources: an established CRD defines one resource per
// served version at kube-apiserver's key prefix, with its accepted names
// and each version's selectable fields, each serving its own apiVersion
// (conversion None); with a conversion webhook only the storage version,
// as stored; an unestablished one defines none; an unservable one is an
// error.
func TestB190_CRDResources(t *testing.T) {
	gadgets := func(version string, namespaced bool, fields ...string) *api.Resource {
		return &api.Resource{Group: "example.org", Version: version, Resource: "gadgets", Kind: "Gadget", Namespaced: namespaced,
			KeyPrefix: "example.org/gadgets", ShortNames: []string{"gd"}, Categories: []string{"all"}, SingularName: "gadget",
			SelectableFields: fields, RewriteAPIVersion: true}
	}
	for _, c := range []struct {
		name, crd string
		want      []*api.Resource
		err       string
	}{
		{"two served versions", crdJSON(`[{"name":"v1","served":true,"storage":true,"selectableFields":[{"jsonPath":".spec.color"},{"jsonPath":".status.phase"}]},`+
			`{"name":"v2","served":true},{"name":"v0","served":false}]`, "Namespaced", "True"),
			[]*api.Resource{gadgets("v1", true, "spec.color", "status.phase"), gadgets("v2", true)}, ""},
		{"cluster-scoped", crdJSON(`[{"name":"v1","served":true,"storage":true}]`, "Cluster", "True"),
			[]*api.Resource{gadgets("v1", false)}, ""},
		{"conversion webhook: the storage version only", strings.Replace(crdJSON(`[{"name":"v1","served":true},{"name":"v2","served":true,"storage":true}]`, "Namespaced", "True"),
			`"versions":`, `"conversion":{"strategy":"Webhook"},"versions":`, 1),
			[]*api.Resource{func() *api.Resource { r := gadgets("v2", true); r.RewriteAPIVersion = false; return r }()}, ""},
		{"not established", crdJSON(`[{"name":"v1","served":true,"storage":true}]`, "Namespaced", "False"), nil, ""},
		{"invalid version", crdJSON(`[{"name":"V1","served":true,"storage":true}]`, "Namespaced", "True"), nil,
			`resource "gadgets.example.org": invalid version "V1"`},
		{"not JSON", `{`, nil, "does not decode: unexpected end of JSON input"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := crdResources([]byte(c.crd))
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("error %v, want %s", err, c.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v (%v)\nwant %+v", got, err, c.want)
			}
		})
	}
}

// TestB190_ServeCRDsNeedsTheirResource: --serve-crds with resources that
// lack customresourcedefinitions fails the start, naming the flag; it is
// on by default with the kube catalogue only.
func TestB190_ServeCRDsNeedsTheirResource(t *testing.T) {
	cfg := testConfig(t)
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	cfg.AddCRDFlags(fs)
	if cfg.CRDsServed() {
		t.Error("CRDs served by default without the kube catalogue")
	}
	if err := fs.Parse([]string{"--serve-crds"}); err != nil || !cfg.CRDsServed() {
		t.Fatalf("--serve-crds: %v, served %v", err, cfg.CRDsServed())
	}
	_, err := Start(context.Background(), cfg)
	if want := "--serve-crds: needs apiextensions.k8s.io customresourcedefinitions among the served resources"; err == nil || err.Error() != want {
		t.Errorf("Start: %v, want %s", err, want)
	}
	kube := Config{ResourcesFile: KubeCatalogue}
	if !kube.CRDsServed() {
		t.Error("CRDs not served by default with the kube catalogue")
	}
	if err := fs.Parse([]string{"--serve-crds=false"}); err != nil || cfg.CRDsServed() || !strings.Contains(fs.Lookup("serve-crds").Usage, "default true with --resources kube") {
		t.Errorf("--serve-crds=false: %v, served %v", err, cfg.CRDsServed())
	}
}
