package app

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/watchcached/watchcached/api"
)

// DefaultResources are the resources served when no resources file is
// given: core/v1 pods (selectable and indexed by spec.nodeName),
// configmaps, services, namespaces and nodes (cluster-scoped), events, and
// apps/v1 deployments; pods, services, namespaces and nodes with their
// status subresource, deployments with status and scale. Each call returns new values.
func DefaultResources() []*api.Resource {
	return []*api.Resource{
		withStatus(&api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true,
			SelectableFields: []string{"spec.nodeName"}, IndexedFields: []string{"spec.nodeName"}}),
		{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true},
		withStatus(&api.Resource{Version: "v1", Resource: "services", Kind: "Service", Namespaced: true}),
		withStatus(&api.Resource{Version: "v1", Resource: "namespaces", Kind: "Namespace"}),
		withStatus(&api.Resource{Version: "v1", Resource: "nodes", Kind: "Node"}),
		{Version: "v1", Resource: "events", Kind: "Event", Namespaced: true},
		withScale(&api.Resource{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true}),
	}
}

// LoadResources reads a YAML (or JSON) list of resources, each in the
// shape of api.Resource:
//
//   - group: apps            # omit for the core group
//     version: v1
//     resource: deployments  # plural
//     kind: Deployment
//     namespaced: true
//     selectableFields: [spec.replicas]
//     indexedFields: [spec.replicas]
//     keyPrefix: deployments # optional, under the etcd prefix
//     cache: false           # optional, serve straight from etcd
//     shortNames: [deploy]   # optional, in discovery
//     categories: [all]      # optional, in discovery
//     subresources:          # optional: status and scale, as a CRD's
//     status: {}
//     scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .spec.selector}
//     printerColumns:        # optional: server-side table columns after NAME
//   - {name: Replicas, type: integer, jsonPath: .spec.replicas}
//
// Unknown fields, invalid resources, a group/resource given twice and
// overlapping key prefixes under etcdPrefix are errors that name the
// entries. The path "kube" (KubeCatalogue) means KubeResources.
func LoadResources(path, etcdPrefix string) ([]*api.Resource, error) {
	if path == KubeCatalogue {
		list := KubeResources()
		if err := checkResources(list, etcdPrefix); err != nil {
			return nil, fmt.Errorf("--resources %s: %w", path, err)
		}
		return list, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--resources: %w", err)
	}
	var list []*api.Resource
	if err := yaml.UnmarshalStrict(b, &list); err != nil {
		return nil, fmt.Errorf("--resources %s: %w", path, err)
	}
	if err := checkResources(list, etcdPrefix); err != nil {
		return nil, fmt.Errorf("--resources %s: %w", path, err)
	}
	return list, nil
}

// checkResources validates each resource and rejects an empty list, a
// group/resource given twice (two versions of one resource would share
// its etcd keys) and overlapping key prefixes.
func checkResources(list []*api.Resource, etcdPrefix string) error {
	if len(list) == 0 {
		return errors.New("no resources configured")
	}
	seen := map[string]int{}
	for i, r := range list {
		if r == nil {
			return fmt.Errorf("entry %d is empty", i+1)
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("entry %d: %w", i+1, err)
		}
		if j, ok := seen[r.GroupResource()]; ok {
			return fmt.Errorf("entry %d: resource %q already configured by entry %d", i+1, r.GroupResource(), j)
		}
		seen[r.GroupResource()] = i + 1
	}
	for i, r := range list {
		if err := checkSharedStorage(i, r, list, seen, etcdPrefix); err != nil {
			return err
		}
	}
	return checkPrefixes(list, etcdPrefix)
}

// checkSharedStorage checks entry i's sharesStorageWith: it must name
// another configured entry of the same resource name and scope at the
// same key prefix.
func checkSharedStorage(i int, r *api.Resource, list []*api.Resource, seen map[string]int, etcdPrefix string) error {
	if r.SharesStorageWith == "" {
		return nil
	}
	j, ok := seen[r.SharesStorageWith]
	if !ok || j == i+1 {
		return fmt.Errorf("entry %d: sharesStorageWith %q names no other configured resource", i+1, r.SharesStorageWith)
	}
	q := list[j-1]
	if q.Resource != r.Resource || q.Namespaced != r.Namespaced || q.Prefix(etcdPrefix) != r.Prefix(etcdPrefix) {
		return fmt.Errorf("entry %d (resource %q, key prefix %q): sharesStorageWith entry %d (resource %q, key prefix %q) needs the same resource name, scope and key prefix",
			i+1, r.GroupResource(), r.Prefix(etcdPrefix), j, q.GroupResource(), q.Prefix(etcdPrefix))
	}
	return nil
}

// sharesStorage reports whether one of r and q declares it serves the
// other's objects (checkSharedStorage has checked the declaration).
func sharesStorage(r, q *api.Resource) bool {
	return r.SharesStorageWith == q.GroupResource() || q.SharesStorageWith == r.GroupResource()
}

// checkPrefixes rejects two resources whose key prefixes under etcdPrefix
// are equal or nested (unless a declared sharesStorageWith pair at one
// prefix), such as "/registry/apps/" (a core resource "apps")
// and "/registry/apps/deployments/": one would list, watch and overwrite
// the other's objects. Prefixes end in '/', so comparing them compares
// whole path segments ("/registry/pods/" and "/registry/pods2/" do not
// overlap).
func checkPrefixes(list []*api.Resource, etcdPrefix string) error {
	for i, r := range list {
		p := r.Prefix(etcdPrefix)
		for j, q := range list[:i] {
			qp := q.Prefix(etcdPrefix)
			if p == qp && sharesStorage(r, q) {
				continue
			}
			if strings.HasPrefix(p, qp) || strings.HasPrefix(qp, p) {
				return fmt.Errorf("entry %d (resource %q, key prefix %q) overlaps entry %d (resource %q, key prefix %q)",
					i+1, r.GroupResource(), p, j+1, q.GroupResource(), qp)
			}
		}
	}
	return nil
}
