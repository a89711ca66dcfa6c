package etcdstore

import (
	"k8s.io/apimachinery/pkg/api/resource"
)

// podQOSClass is the QoS class of a pod to be created (obj is its JSON
// document), by kube's rules: BestEffort when no container asks for or
// limits cpu or memory, Guaranteed when every container limits both and
// asks for what it limits (a missing request defaults to the limit, as
// kube-apiserver's defaulting does before the class is computed),
// Burstable otherwise. Init containers count as containers.
func podQOSClass(obj map[string]any) string {
	spec, _ := obj["spec"].(map[string]any)
	requests := map[string]resource.Quantity{}
	limits := map[string]resource.Quantity{}
	guaranteed := true
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			res, _ := c.(map[string]any)["resources"].(map[string]any)
			lim := quantities(res["limits"])
			req := quantities(res["requests"])
			for k, q := range lim {
				if _, ok := req[k]; !ok {
					req[k] = q
				}
			}
			addQuantities(requests, req)
			addQuantities(limits, lim)
			if _, ok := lim["cpu"]; !ok {
				guaranteed = false
			}
			if _, ok := lim["memory"]; !ok {
				guaranteed = false
			}
		}
	}
	switch {
	case len(requests) == 0 && len(limits) == 0:
		return "BestEffort"
	case !guaranteed || len(requests) != len(limits):
		return "Burstable"
	}
	for k, q := range requests {
		if l, ok := limits[k]; !ok || l.Cmp(q) != 0 {
			return "Burstable"
		}
	}
	return "Guaranteed"
}

// quantities reads the non-zero cpu and memory quantities of a resource
// list; malformed ones are left out (validation refuses them anyway).
func quantities(v any) map[string]resource.Quantity {
	m, _ := v.(map[string]any)
	out := map[string]resource.Quantity{}
	for _, k := range []string{"cpu", "memory"} {
		var s string
		switch t := m[k].(type) {
		case string:
			s = t
		case interface{ String() string }:
			s = t.String()
		default:
			continue
		}
		q, err := resource.ParseQuantity(s)
		if err == nil && !q.IsZero() {
			out[k] = q
		}
	}
	return out
}

// addQuantities adds each quantity of from to sum.
func addQuantities(sum, from map[string]resource.Quantity) {
	for k, q := range from {
		t := sum[k]
		t.Add(q)
		sum[k] = t
	}
}
