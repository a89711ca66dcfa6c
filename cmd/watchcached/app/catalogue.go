package app

import "github.com/watchcached/watchcached/api"

// KubeCatalogue is the --resources word that selects KubeResources instead
// of a file.
const KubeCatalogue = "kube"

// KubeResources are the common built-in resources at kube-apiserver's own
// etcd layout, so watchcached can serve what a cluster's kube-apiserver
// stored: each entry's KeyPrefix is the one kube-apiserver uses (the
// resource name without its group, except for the special prefixes
// compiled into kube-apiserver, such as "minions" for nodes and
// "services/specs" for services, and CRDs, which the apiextensions server
// keeps under "<group>/<resource>"), with the short names, categories and
// field selectors kube-apiserver serves for it. Within a group the
// entries are in kube-apiserver's discovery order (by name). Each call
// returns new values.
//
// events.k8s.io/v1 events share the storage of core events, as in
// kube-apiserver: the objects under "events" are core v1 Events, which the
// events.k8s.io resource's store converts (etcdstore's conversion for a
// resource that declares sharesStorageWith: events).
func KubeResources() []*api.Resource {
	return []*api.Resource{
		kube("", "configmaps", "ConfigMap", true, "", []string{"cm"}, nil),
		kube("", "endpoints", "Endpoints", true, "services/endpoints", []string{"ep"}, nil),
		kubeEvents(),
		withStatus(kube("", "namespaces", "Namespace", false, "", []string{"ns"}, nil, "status.phase")),
		withStatus(withDefault(kube("", "nodes", "Node", false, "minions", []string{"no"}, nil, "spec.unschedulable"),
			"spec.unschedulable", "false")),
		withStatus(kube("", "persistentvolumeclaims", "PersistentVolumeClaim", true, "", []string{"pvc"}, nil)),
		withStatus(kube("", "persistentvolumes", "PersistentVolume", false, "", []string{"pv"}, nil)),
		withStatus(kubePods()),
		kube("", "secrets", "Secret", true, "", nil, nil, "type"),
		kube("", "serviceaccounts", "ServiceAccount", true, "", []string{"sa"}, nil),
		withStatus(kube("", "services", "Service", true, "services/specs", []string{"svc"}, all)),
		withStatus(kube("apps", "daemonsets", "DaemonSet", true, "", []string{"ds"}, all)),
		withScale(kube("apps", "deployments", "Deployment", true, "", []string{"deploy"}, all)),
		withScale(withDefault(kube("apps", "replicasets", "ReplicaSet", true, "", []string{"rs"}, all, "status.replicas"),
			"status.replicas", "0")),
		withScale(kube("apps", "statefulsets", "StatefulSet", true, "", []string{"sts"}, all)),
		withStatus(kube("batch", "cronjobs", "CronJob", true, "", []string{"cj"}, all)),
		withStatus(kubeJobs()),
		kube("coordination.k8s.io", "leases", "Lease", true, "", nil, nil),
		kube("discovery.k8s.io", "endpointslices", "EndpointSlice", true, "", nil, nil),
		kubeEventsV1(),
		withStatus(kube("networking.k8s.io", "ingresses", "Ingress", true, "ingress", []string{"ing"}, nil)),
		kube("networking.k8s.io", "networkpolicies", "NetworkPolicy", true, "", []string{"netpol"}, nil),
		withStatus(kube("policy", "poddisruptionbudgets", "PodDisruptionBudget", true, "", []string{"pdb"}, nil)),
		kube("scheduling.k8s.io", "priorityclasses", "PriorityClass", false, "", []string{"pc"}, nil),
		kube("storage.k8s.io", "storageclasses", "StorageClass", false, "", []string{"sc"}, nil),
		kube("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", false, "", nil, nil),
		kube("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", false, "", nil, nil),
		kube("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", true, "", nil, nil),
		kube("rbac.authorization.k8s.io", "roles", "Role", true, "", nil, nil),
		withStatus(kube("apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition", false,
			"apiextensions.k8s.io/customresourcedefinitions", []string{"crd", "crds"}, []string{"api-extensions"})),
	}
}

// all is the category of `kubectl get all`.
var all = []string{"all"}

// kube is one catalogue entry at v1 (every catalogued resource's version)
// under keyPrefix, or under its resource name when keyPrefix is "".
func kube(group, resource, kind string, namespaced bool, keyPrefix string, short, categories []string, fields ...string) *api.Resource {
	if keyPrefix == "" {
		keyPrefix = resource
	}
	return &api.Resource{
		Group: group, Version: "v1", Resource: resource, Kind: kind, Namespaced: namespaced,
		KeyPrefix: keyPrefix, ShortNames: short, Categories: append([]string(nil), categories...),
		SelectableFields: fields,
	}
}

// withStatus gives r the status subresource, as kube-apiserver serves
// it for the kind (B220).
func withStatus(r *api.Resource) *api.Resource {
	if r.Subresources == nil {
		r.Subresources = &api.Subresources{}
	}
	r.Subresources.Status = &api.StatusSubresource{}
	return r
}

// withScale gives r the status subresource and an autoscaling/v1 scale
// over spec.replicas, status.replicas and spec.selector, as
// kube-apiserver's apps/v1 kinds have (B222).
func withScale(r *api.Resource) *api.Resource {
	withStatus(r).Subresources.Scale = AppsScale()
	return r
}

// AppsScale is the scale subresource of the apps/v1 kinds.
func AppsScale() *api.ScaleSubresource {
	return &api.ScaleSubresource{SpecReplicasPath: ".spec.replicas", StatusReplicasPath: ".status.replicas",
		LabelSelectorPath: ".spec.selector"}
}

// withDefault sets the value field has when an object omits it (a Go
// zero value dropped by omitempty).
func withDefault(r *api.Resource, field, value string) *api.Resource {
	r.FieldDefaults = map[string]string{field: value}
	return r
}

// kubePods is pods with kube-apiserver's field selectors, indexed by
// spec.nodeName as kube-apiserver's watch cache is; spec.hostNetwork is
// omitted from stored pods when false.
func kubePods() *api.Resource {
	r := kube("", "pods", "Pod", true, "", []string{"po"}, all,
		"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
		"spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName")
	r.IndexedFields = []string{"spec.nodeName"}
	r.FieldDefaults = map[string]string{"spec.hostNetwork": "false"}
	return r
}

// kubeEvents is core v1 events with kube-apiserver's field selectors:
// "source" is source.component, "reportingComponent" the stored field of
// that name (ReportingController in Go).
func kubeEvents() *api.Resource {
	r := kube("", "events", "Event", true, "", []string{"ev"}, nil,
		"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
		"involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
		"reason", "reportingComponent", "source", "type")
	r.FieldPaths = map[string]string{"source": "source.component"}
	return r
}

// kubeEventsV1 is events.k8s.io/v1 events, stored as core events and
// converted, with the field selectors kube-apiserver accepts for them
// (its core field set under the events.k8s.io names: regarding.* for
// involvedObject.*, reportingController for reportingComponent; no
// "source").
func kubeEventsV1() *api.Resource {
	r := kube("events.k8s.io", "events", "Event", true, "events", []string{"ev"}, nil,
		"regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
		"regarding.apiVersion", "regarding.resourceVersion", "regarding.fieldPath",
		"reason", "reportingController", "type")
	r.SharesStorageWith = "events"
	return r
}

// kubeJobs is batch/v1 jobs: kube-apiserver selects "status.successful"
// from status.succeeded, which is omitted when 0.
func kubeJobs() *api.Resource {
	r := kube("batch", "jobs", "Job", true, "", nil, all, "status.successful")
	r.FieldPaths = map[string]string{"status.successful": "status.succeeded"}
	r.FieldDefaults = map[string]string{"status.successful": "0"}
	return r
}
