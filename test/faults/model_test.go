package faults

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// This file is the suite's own model of the stored objects, independent
// of watchcached's code: keys, values, and what a selector matches.

const etcdPrefix = "/registry"

// resource is one served resource the suite writes and watches.
type resource struct {
	name, kind string // "configmaps", "ConfigMap"
}

var (
	configmaps = resource{"configmaps", "ConfigMap"}
	pods       = resource{"pods", "Pod"}
	resources  = []resource{configmaps, pods}
	namespaces = []string{"ns-0", "ns-1", "ns-2"}
	colors     = []string{"red", "blue", "green"}
	nodes      = []string{"node-0", "node-1", "node-2"}
)

const namesPerNamespace = 8

func (r resource) prefix() string { return etcdPrefix + "/" + r.name + "/" }

func (r resource) key(ns, name string) string { return r.prefix() + ns + "/" + name }

// obj is one version of an object: what the checker compares. gen is
// unique per write, so it names the version.
type obj struct {
	res             string
	ns, name        string
	color, node     string
	gen             int64
	resourceVersion uint64 // from the object's metadata, when read from watchcached
}

func (o *obj) key() string { return o.res + ":" + o.ns + "/" + o.name }

// value is the stored JSON of o: a valid object of its resource without
// metadata.resourceVersion, as kube-apiserver stores it.
func (o *obj) value() string {
	md := fmt.Sprintf(`"name":%q,"namespace":%q,"labels":{"color":%q},"annotations":{"gen":"%d"}`, o.name, o.ns, o.color, o.gen)
	kind := configmaps.kind
	if o.res == pods.name {
		kind = pods.kind
	}
	body := fmt.Sprintf(`{"apiVersion":"v1","kind":%q,"metadata":{%s}`, kind, md)
	if o.res == pods.name {
		return body + fmt.Sprintf(`,"spec":{"nodeName":%q}}`, o.node)
	}
	return body + fmt.Sprintf(`,"data":{"gen":"%d"}}`, o.gen)
}

type wireObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name            string            `json:"name"`
		Namespace       string            `json:"namespace"`
		ResourceVersion string            `json:"resourceVersion"`
		Labels          map[string]string `json:"labels"`
		Annotations     map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`
}

// decodeObj reads an object of res from JSON (a stored value or what
// watchcached sent).
func decodeObj(res string, b []byte) (*obj, error) {
	var w wireObject
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("decode %s: %v in %.200s", res, err, b)
	}
	return fromWire(res, &w)
}

func fromWire(res string, w *wireObject) (*obj, error) {
	o := &obj{res: res, ns: w.Metadata.Namespace, name: w.Metadata.Name, color: w.Metadata.Labels["color"], node: w.Spec.NodeName}
	var err error
	if o.gen, err = strconv.ParseInt(w.Metadata.Annotations["gen"], 10, 64); err != nil {
		return nil, fmt.Errorf("object %s without a gen annotation", o.key())
	}
	if rv := w.Metadata.ResourceVersion; rv != "" {
		if o.resourceVersion, err = strconv.ParseUint(rv, 10, 64); err != nil {
			return nil, fmt.Errorf("object %s: resourceVersion %q", o.key(), rv)
		}
	}
	return o, nil
}

// resourceOfKey is the resource a key under the etcd prefix belongs to.
func resourceOfKey(key string) (string, bool) {
	for _, r := range resources {
		if strings.HasPrefix(key, r.prefix()) {
			return r.name, true
		}
	}
	return "", false
}

// filter is a watcher's or list's selection: the resource, and optionally
// a namespace (in the path), a label selector color=, a field selector
// (spec.nodeName= for pods, metadata.namespace!= for any).
type filter struct {
	res   string
	ns    string // path namespace
	color string // labelSelector color=<color>
	node  string // fieldSelector spec.nodeName=<node>
	notNS string // fieldSelector metadata.namespace!=<notNS>
}

func (f filter) matches(o *obj) bool {
	return o != nil && o.res == f.res && (f.ns == "" || o.ns == f.ns) && (f.color == "" || o.color == f.color) &&
		(f.node == "" || o.node == f.node) && (f.notNS == "" || o.ns != f.notNS)
}

func (f filter) String() string {
	s := f.res
	if f.ns != "" {
		s += " ns=" + f.ns
	}
	if f.color != "" {
		s += " color=" + f.color
	}
	if f.node != "" {
		s += " node=" + f.node
	}
	if f.notNS != "" {
		s += " ns!=" + f.notNS
	}
	return s
}

func (f filter) labelSelector() string {
	if f.color == "" {
		return ""
	}
	return "color=" + f.color
}

func (f filter) fieldSelector() string {
	var s []string
	if f.node != "" {
		s = append(s, "spec.nodeName="+f.node)
	}
	if f.notNS != "" {
		s = append(s, "metadata.namespace!="+f.notNS)
	}
	return strings.Join(s, ",")
}

// render is the comparable form of a watch event: type, key, RV and the
// version (gen) carried.
func render(typ string, o *obj, rv uint64) string {
	return fmt.Sprintf("%s %s@%d g%d", typ, o.key(), rv, o.gen)
}
