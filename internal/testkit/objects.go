package testkit

import (
	"encoding/json"
	"fmt"

	"github.com/watchcached/watchcached/api"
)

// Pods is the resource the tests serve: core/v1 pods, selectable and
// indexed by spec.nodeName.
func Pods() *api.Resource {
	return &api.Resource{
		Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true,
		SelectableFields: []string{"spec.nodeName"}, IndexedFields: []string{"spec.nodeName"},
	}
}

// Pod describes a pod to write.
type Pod struct {
	Namespace, Name, Node string
	Labels                map[string]string
	// Gen > 0 sets the annotation gen=<Gen>, so that an update of an
	// otherwise unchanged pod still changes it.
	Gen int
	// ResourceVersion, if set, is the update's precondition.
	ResourceVersion string
}

// JSON is the pod's JSON as a client sends it (no resourceVersion). An
// empty namespace and nil labels are left out.
func (p Pod) JSON() []byte {
	md := map[string]any{"name": p.Name}
	if p.Namespace != "" {
		md["namespace"] = p.Namespace
	}
	if p.Labels != nil {
		md["labels"] = p.Labels
	}
	if p.Gen > 0 {
		md["annotations"] = map[string]string{"gen": fmt.Sprint(p.Gen)}
	}
	if p.ResourceVersion != "" {
		md["resourceVersion"] = p.ResourceVersion
	}
	b, err := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Pod", "metadata": md,
		"spec": map[string]any{"nodeName": p.Node},
	})
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}

// PodJSON is Pod{ns, name, node, labels, 0}.JSON().
func PodJSON(ns, name, node string, labels map[string]string) []byte {
	return Pod{Namespace: ns, Name: name, Node: node, Labels: labels}.JSON()
}
