package app

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/watchcached/watchcached/api"
)

// crd is the part of an apiextensions.k8s.io/v1 CustomResourceDefinition
// that says what to serve. kube-apiserver stores CRDs as JSON, so they
// are read with encoding/json (k8s.io/apiextensions-apiserver, which has
// the full type, is not a dependency of this module).
type crd struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Group      string       `json:"group"`
		Names      crdNames     `json:"names"`
		Scope      string       `json:"scope"`
		Versions   []crdVersion `json:"versions"`
		Conversion struct {
			Strategy string `json:"strategy"`
		} `json:"conversion"`
	} `json:"spec"`
	Status struct {
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
		AcceptedNames crdNames `json:"acceptedNames"`
	} `json:"status"`
}

type crdNames struct {
	Plural     string   `json:"plural"`
	Singular   string   `json:"singular"`
	Kind       string   `json:"kind"`
	ListKind   string   `json:"listKind"`
	ShortNames []string `json:"shortNames"`
	Categories []string `json:"categories"`
}

type crdVersion struct {
	Name             string `json:"name"`
	Served           bool   `json:"served"`
	Storage          bool   `json:"storage"`
	SelectableFields []struct {
		JSONPath string `json:"jsonPath"`
	} `json:"selectableFields"`
}

// crdResources decodes a stored CRD and returns the resources it defines:
// one per served version, in the CRD's order, none while the CRD is not
// Established (kube-apiserver serves a CRD's resource from then on). Each
// lives at kube-apiserver's key prefix "<group>/<plural>" (every version at
// the same one: objects are stored once, at the version that was the
// storage version when they were written), with the accepted names
// (spec.names until the names are accepted), the scope and the version's
// selectableFields (JSONPaths such as ".spec.color", selected as
// "spec.color"). With the conversion strategy None every version serves
// every object with its own apiVersion, as kube-apiserver converts; with
// a conversion webhook (which watchcached cannot call) only the storage
// version is served, its objects as stored. An error names what makes the
// CRD unservable.
func crdResources(raw []byte) ([]*api.Resource, error) {
	var c crd
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("does not decode: %w", err)
	}
	if !c.established() {
		return nil, nil
	}
	names := c.Status.AcceptedNames
	if names.Kind == "" || names.Plural == "" {
		names = c.Spec.Names
	}
	webhook := c.Spec.Conversion.Strategy == "Webhook"
	var out []*api.Resource
	for _, v := range c.Spec.Versions {
		if !v.Served || webhook && !v.Storage {
			continue
		}
		r := &api.Resource{
			Group: c.Spec.Group, Version: v.Name, Resource: names.Plural, Kind: names.Kind,
			Namespaced: c.Spec.Scope == "Namespaced", KeyPrefix: c.Spec.Group + "/" + names.Plural,
			ShortNames: names.ShortNames, Categories: names.Categories,
			SingularName: names.Singular, ListKindName: names.ListKind, RewriteAPIVersion: !webhook,
		}
		if r.ListKindName == r.Kind+"List" {
			r.ListKindName = ""
		}
		for _, f := range v.SelectableFields {
			r.SelectableFields = append(r.SelectableFields, strings.TrimPrefix(f.JSONPath, "."))
		}
		if err := r.Validate(); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// established reports whether the CRD's Established condition is True.
func (c *crd) established() bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == "Established" {
			return cond.Status == "True"
		}
	}
	return false
}
