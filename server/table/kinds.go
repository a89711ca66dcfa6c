package table

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The rows of the other kinds kube-apiserver prints, computed from the
// v1 objects as its printers compute them from the internal ones; where
// the internal object differs (defaults applied, fields merged by
// conversion) the v1 value is read as conversion and defaulting would
// leave it.

// containerCells are the Containers and Images cells of a template.
func containerCells(cs []corev1.Container) []cell {
	names := make([]string, len(cs))
	images := make([]string, len(cs))
	for i, c := range cs {
		names[i], images[i] = c.Name, c.Image
	}
	return []cell{str(strings.Join(names, ",")), str(strings.Join(images, ","))}
}

// replicas is a *int32 replica count, 1 when unset (kube's default).
func replicas(n *int32) int64 {
	if n == nil {
		return 1
	}
	return int64(*n)
}

func deploymentCells(d *appsv1.Deployment) ([]cell, []byte) {
	sel := "<invalid>"
	if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
		sel = s.String()
	}
	cells := []cell{str(d.Name), str(fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicas(d.Spec.Replicas))),
		integer(int64(d.Status.UpdatedReplicas)), integer(int64(d.Status.AvailableReplicas)), age(d.CreationTimestamp.Time)}
	cells = append(cells, containerCells(d.Spec.Template.Spec.Containers)...)
	return append(cells, str(sel)), nil
}

func replicaSetCells(r *appsv1.ReplicaSet) ([]cell, []byte) {
	cells := []cell{str(r.Name), integer(replicas(r.Spec.Replicas)), integer(int64(r.Status.Replicas)),
		integer(int64(r.Status.ReadyReplicas)), age(r.CreationTimestamp.Time)}
	cells = append(cells, containerCells(r.Spec.Template.Spec.Containers)...)
	return append(cells, str(metav1.FormatLabelSelector(r.Spec.Selector))), nil
}

func statefulSetCells(s *appsv1.StatefulSet) ([]cell, []byte) {
	cells := []cell{str(s.Name), str(fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, replicas(s.Spec.Replicas))), age(s.CreationTimestamp.Time)}
	return append(cells, containerCells(s.Spec.Template.Spec.Containers)...), nil
}

func daemonSetCells(d *appsv1.DaemonSet) ([]cell, []byte) {
	st := d.Status
	cells := []cell{str(d.Name), integer(int64(st.DesiredNumberScheduled)), integer(int64(st.CurrentNumberScheduled)),
		integer(int64(st.NumberReady)), integer(int64(st.UpdatedNumberScheduled)), integer(int64(st.NumberAvailable)),
		str(labels.FormatLabels(d.Spec.Template.Spec.NodeSelector)), age(d.CreationTimestamp.Time)}
	cells = append(cells, containerCells(d.Spec.Template.Spec.Containers)...)
	return append(cells, str(metav1.FormatLabelSelector(d.Spec.Selector))), nil
}

func serviceCells(s *corev1.Service) ([]cell, []byte) {
	typ := s.Spec.Type
	if typ == "" {
		typ = corev1.ServiceTypeClusterIP
	}
	ip := s.Spec.ClusterIP
	if len(s.Spec.ClusterIPs) > 0 {
		ip = s.Spec.ClusterIPs[0]
	}
	ports := make([]string, len(s.Spec.Ports))
	for i, p := range s.Spec.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ports[i] = fmt.Sprintf("%d/%s", p.Port, proto)
		if p.NodePort > 0 {
			ports[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, proto)
		}
	}
	return []cell{str(s.Name), str(string(typ)), str(orNone(ip)), str(externalIP(s, typ)),
		str(orNone(strings.Join(ports, ","))), age(s.CreationTimestamp.Time), str(labels.FormatLabels(s.Spec.Selector))}, nil
}

// externalIP is a service's External-IP cell (the server prints wide, so
// load-balancer addresses are not clipped).
func externalIP(s *corev1.Service, typ corev1.ServiceType) string {
	ext := strings.Join(s.Spec.ExternalIPs, ",")
	switch typ {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		return orNone(ext)
	case corev1.ServiceTypeExternalName:
		return s.Spec.ExternalName
	case corev1.ServiceTypeLoadBalancer:
		seen := map[string]bool{}
		var lb []string
		for _, in := range s.Status.LoadBalancer.Ingress {
			a := in.IP
			if a == "" {
				a = in.Hostname
			}
			if a != "" && !seen[a] {
				seen[a] = true
				lb = append(lb, a)
			}
		}
		sort.Strings(lb)
		all := append(lb, s.Spec.ExternalIPs...)
		if len(all) == 0 {
			return "<pending>"
		}
		return strings.Join(all, ",")
	}
	return "<unknown>"
}

func nodeCells(n *corev1.Node) ([]cell, []byte) {
	var status []string
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				status = append(status, "Ready")
			} else {
				status = append(status, "NotReady")
			}
		}
	}
	if len(status) == 0 {
		status = append(status, "Unknown")
	}
	if n.Spec.Unschedulable {
		status = append(status, "SchedulingDisabled")
	}
	info := n.Status.NodeInfo
	unknown := func(s string) string {
		if s == "" {
			return "<unknown>"
		}
		return s
	}
	return []cell{str(n.Name), str(strings.Join(status, ",")), str(orNone(strings.Join(nodeRoles(n), ","))),
		age(n.CreationTimestamp.Time), str(info.KubeletVersion), str(nodeAddress(n, corev1.NodeInternalIP)),
		str(nodeAddress(n, corev1.NodeExternalIP)), str(unknown(info.OSImage)), str(unknown(info.KernelVersion)),
		str(unknown(info.ContainerRuntimeVersion))}, nil
}

// nodeRoles are the roles of node-role.kubernetes.io/<role> labels and
// of a kubernetes.io/role label, sorted and unique.
func nodeRoles(n *corev1.Node) []string {
	set := map[string]bool{}
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			if r := strings.TrimPrefix(k, "node-role.kubernetes.io/"); r != "" {
				set[r] = true
			}
		case k == "kubernetes.io/role" && v != "":
			set[v] = true
		}
	}
	roles := make([]string, 0, len(set))
	for r := range set {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}

func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

func namespaceCells(n *corev1.Namespace) ([]cell, []byte) {
	return []cell{str(n.Name), str(string(n.Status.Phase)), age(n.CreationTimestamp.Time)}, nil
}

func configMapCells(c *corev1.ConfigMap) ([]cell, []byte) {
	return []cell{str(c.Name), integer(int64(len(c.Data) + len(c.BinaryData))), age(c.CreationTimestamp.Time)}, nil
}

func secretCells(s *corev1.Secret) ([]cell, []byte) {
	typ := s.Type
	if typ == "" {
		typ = corev1.SecretTypeOpaque // kube's default
	}
	return []cell{str(s.Name), str(string(typ)), integer(int64(len(s.Data))), age(s.CreationTimestamp.Time)}, nil
}

func eventCells(e *corev1.Event) ([]cell, []byte) {
	first := age(e.FirstTimestamp.Time)
	if e.FirstTimestamp.IsZero() {
		first = age(e.EventTime.Time)
	}
	last := age(e.LastTimestamp.Time)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := int64(e.Count)
	if e.Series != nil {
		last, count = age(e.Series.LastObservedTime.Time), int64(e.Series.Count)
	} else if count == 0 {
		count = 1
	}
	target := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		target += "/" + e.InvolvedObject.Name
	}
	return []cell{last, str(e.Type), str(e.Reason), str(target), str(e.InvolvedObject.FieldPath),
		str(eventSource(e)), str(strings.TrimSpace(e.Message)), first, integer(count), str(e.Name)}, nil
}

// eventSource is "<component>[, <host>]", from the source or, failing
// that, the reporting controller and instance.
func eventSource(e *corev1.Event) string {
	comp, host := e.Source.Component, e.Source.Host
	if comp == "" {
		comp = e.ReportingController
	}
	if host == "" {
		host = e.ReportingInstance
	}
	if host == "" {
		return comp
	}
	return comp + ", " + host
}

func jobCells(j *batchv1.Job) ([]cell, []byte) {
	var completions string
	switch {
	case j.Spec.Completions != nil:
		completions = fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	case j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1:
		completions = fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	default:
		completions = fmt.Sprintf("%d/1", j.Status.Succeeded)
	}
	dur := str("")
	switch {
	case j.Status.StartTime == nil:
	case j.Status.CompletionTime == nil:
		dur = cell{since: j.Status.StartTime.Time}
	default:
		dur = ageBetween(j.Status.StartTime.Time, j.Status.CompletionTime.Time)
	}
	cells := []cell{str(j.Name), str(jobStatus(j)), str(completions), dur, age(j.CreationTimestamp.Time)}
	cells = append(cells, containerCells(j.Spec.Template.Spec.Containers)...)
	return append(cells, str(metav1.FormatLabelSelector(j.Spec.Selector))), nil
}

func jobStatus(j *batchv1.Job) string {
	has := func(t batchv1.JobConditionType) bool {
		for _, c := range j.Status.Conditions {
			if c.Type == t {
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	}
	switch {
	case has(batchv1.JobComplete):
		return "Complete"
	case has(batchv1.JobFailed):
		return "Failed"
	case j.DeletionTimestamp != nil:
		return "Terminating"
	case has(batchv1.JobSuspended):
		return "Suspended"
	case has(batchv1.JobFailureTarget):
		return "FailureTarget"
	}
	return "Running"
}

func cronJobCells(c *batchv1.CronJob) ([]cell, []byte) {
	last := str("<none>")
	if c.Status.LastScheduleTime != nil {
		last = age(c.Status.LastScheduleTime.Time)
	}
	tz := "<none>"
	if c.Spec.TimeZone != nil {
		tz = *c.Spec.TimeZone
	}
	suspend := str("False") // kube prints the (defaulted) flag as a word
	if c.Spec.Suspend != nil && *c.Spec.Suspend {
		suspend = str("True")
	}
	cells := []cell{str(c.Name), str(c.Spec.Schedule), str(tz), suspend, integer(int64(len(c.Status.Active))),
		last, age(c.CreationTimestamp.Time)}
	cells = append(cells, containerCells(c.Spec.JobTemplate.Spec.Template.Spec.Containers)...)
	return append(cells, str(metav1.FormatLabelSelector(c.Spec.JobTemplate.Spec.Selector))), nil
}
