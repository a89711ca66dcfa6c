package table

import (
	batchv1 "k8s.io/api/batch/v1"
	batchv1beta1 "k8s.io/api/batch/v1beta1"
	corev1 "k8s.io/api/core/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The column definitions of kube-apiserver's printers for the kinds
// printed here: the same names, types, formats, priorities and
// descriptions (taken, as kube-apiserver takes them, from the API types'
// documentation).

var metaDoc = metav1.ObjectMeta{}.SwaggerDoc()

func nameColumn() Column {
	return Column{Name: "Name", Type: "string", Format: "name", Description: metaDoc["name"]}
}

func ageColumn() Column {
	return Column{Name: "Age", Type: "string", Description: metaDoc["creationTimestamp"]}
}

func wide(c Column) Column { c.Priority = 1; return c }

func col(name, typ, desc string) Column { return Column{Name: name, Type: typ, Description: desc} }

const (
	containersDoc = "Names of each container in the template."
	imagesDoc     = "Images referenced by each container in the template."
)

var podColumns = []Column{
	nameColumn(),
	col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
	col("Status", "string", "The aggregate status of the containers in this pod."),
	col("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
	ageColumn(),
	wide(col("IP", "string", corev1.PodStatus{}.SwaggerDoc()["podIP"])),
	wide(col("Node", "string", corev1.PodSpec{}.SwaggerDoc()["nodeName"])),
	wide(col("Nominated Node", "string", corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"])),
	wide(col("Readiness Gates", "string", corev1.PodSpec{}.SwaggerDoc()["readinessGates"])),
}

var deploymentColumns = []Column{
	nameColumn(),
	col("Ready", "string", "Number of the pod with ready state"),
	col("Up-to-date", "string", extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]),
	col("Available", "string", extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]),
	ageColumn(),
	wide(col("Containers", "string", containersDoc)),
	wide(col("Images", "string", imagesDoc)),
	wide(col("Selector", "string", extensionsv1beta1.DeploymentSpec{}.SwaggerDoc()["selector"])),
}

var replicaSetColumns = []Column{
	nameColumn(),
	col("Desired", "integer", extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]),
	col("Current", "integer", extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]),
	col("Ready", "integer", extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]),
	ageColumn(),
	wide(col("Containers", "string", containersDoc)),
	wide(col("Images", "string", imagesDoc)),
	wide(col("Selector", "string", extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()["selector"])),
}

var statefulSetColumns = []Column{
	nameColumn(),
	col("Ready", "string", "Number of the pod with ready state"),
	ageColumn(),
	wide(col("Containers", "string", containersDoc)),
	wide(col("Images", "string", imagesDoc)),
}

var daemonSetColumns = []Column{
	nameColumn(),
	col("Desired", "integer", extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["desiredNumberScheduled"]),
	col("Current", "integer", extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["currentNumberScheduled"]),
	col("Ready", "integer", extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["numberReady"]),
	col("Up-to-date", "integer", extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["updatedNumberScheduled"]),
	col("Available", "integer", extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["numberAvailable"]),
	col("Node Selector", "string", corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
	ageColumn(),
	wide(col("Containers", "string", containersDoc)),
	wide(col("Images", "string", imagesDoc)),
	wide(col("Selector", "string", extensionsv1beta1.DaemonSetSpec{}.SwaggerDoc()["selector"])),
}

var serviceColumns = []Column{
	nameColumn(),
	col("Type", "string", corev1.ServiceSpec{}.SwaggerDoc()["type"]),
	col("Cluster-IP", "string", corev1.ServiceSpec{}.SwaggerDoc()["clusterIP"]),
	col("External-IP", "string", corev1.ServiceSpec{}.SwaggerDoc()["externalIPs"]),
	col("Port(s)", "string", corev1.ServiceSpec{}.SwaggerDoc()["ports"]),
	ageColumn(),
	wide(col("Selector", "string", corev1.ServiceSpec{}.SwaggerDoc()["selector"])),
}

var nodeColumns = []Column{
	nameColumn(),
	col("Status", "string", "The status of the node"),
	col("Roles", "string", "The roles of the node"),
	ageColumn(),
	col("Version", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["kubeletVersion"]),
	wide(col("Internal-IP", "string", corev1.NodeStatus{}.SwaggerDoc()["addresses"])),
	wide(col("External-IP", "string", corev1.NodeStatus{}.SwaggerDoc()["addresses"])),
	wide(col("OS-Image", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["osImage"])),
	wide(col("Kernel-Version", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["kernelVersion"])),
	wide(col("Container-Runtime", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["containerRuntimeVersion"])),
}

var namespaceColumns = []Column{nameColumn(), col("Status", "string", "The status of the namespace"), ageColumn()}

var configMapColumns = []Column{nameColumn(), col("Data", "string", corev1.ConfigMap{}.SwaggerDoc()["data"]), ageColumn()}

var secretColumns = []Column{
	nameColumn(),
	col("Type", "string", corev1.Secret{}.SwaggerDoc()["type"]),
	col("Data", "string", corev1.Secret{}.SwaggerDoc()["data"]),
	ageColumn(),
}

var eventColumns = []Column{
	col("Last Seen", "string", corev1.Event{}.SwaggerDoc()["lastTimestamp"]),
	col("Type", "string", corev1.Event{}.SwaggerDoc()["type"]),
	col("Reason", "string", corev1.Event{}.SwaggerDoc()["reason"]),
	col("Object", "string", corev1.Event{}.SwaggerDoc()["involvedObject"]),
	wide(col("Subobject", "string", corev1.ObjectReference{}.SwaggerDoc()["fieldPath"])),
	wide(col("Source", "string", corev1.Event{}.SwaggerDoc()["source"])),
	col("Message", "string", corev1.Event{}.SwaggerDoc()["message"]),
	wide(col("First Seen", "string", corev1.Event{}.SwaggerDoc()["firstTimestamp"])),
	wide(col("Count", "string", corev1.Event{}.SwaggerDoc()["count"])),
	wide(Column{Name: "Name", Type: "string", Format: "name", Description: metaDoc["name"]}),
}

var jobColumns = []Column{
	nameColumn(),
	col("Status", "string", "Status of the job."),
	col("Completions", "string", batchv1.JobStatus{}.SwaggerDoc()["succeeded"]),
	col("Duration", "string", "Time required to complete the job."),
	ageColumn(),
	wide(col("Containers", "string", containersDoc)),
	wide(col("Images", "string", imagesDoc)),
	wide(col("Selector", "string", batchv1.JobSpec{}.SwaggerDoc()["selector"])),
}

var cronJobColumns = []Column{
	nameColumn(),
	col("Schedule", "string", batchv1beta1.CronJobSpec{}.SwaggerDoc()["schedule"]),
	col("Timezone", "string", batchv1beta1.CronJobSpec{}.SwaggerDoc()["timeZone"]),
	col("Suspend", "boolean", batchv1beta1.CronJobSpec{}.SwaggerDoc()["suspend"]),
	col("Active", "integer", batchv1beta1.CronJobStatus{}.SwaggerDoc()["active"]),
	col("Last Schedule", "string", batchv1beta1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]),
	ageColumn(),
	wide(col("Containers", "string", containersDoc)),
	wide(col("Images", "string", imagesDoc)),
	wide(col("Selector", "string", batchv1.JobSpec{}.SwaggerDoc()["selector"])),
}
