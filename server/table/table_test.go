package table

import (
	"strings"
	"testing"
	"time"

	"github.com/watchcached/watchcached/api"
)

var now = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// cellsOf renders the cells of raw with the printer of res, as JSON.
func cellsOf(t *testing.T, res *api.Resource, raw string) string {
	t.Helper()
	p, err := For(res)
	if err != nil {
		t.Fatal(err)
	}
	b := p.AppendTable(nil, Options{Version: "v1", Include: IncludeNone, NoHeaders: true}, []*api.Object{{Raw: []byte(raw)}}, ListMeta{}, now)
	s := string(b)
	i := strings.Index(s, `"rows":[`)
	return strings.TrimSuffix(s[i+len(`"rows":[`):], "]}")
}

var podRes = &api.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true}

const created = `"creationTimestamp":"2025-01-01T11:55:00Z"`

// TestPodRows_B225_StatusLogic: the READY, STATUS and RESTARTS cells
// follow kube-apiserver's printer (wide cells included, as the server
// always prints them).
func TestPodRows_B225_StatusLogic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, pod, want string }{
		{"pending", `{"metadata":{"name":"p",` + created + `},"spec":{"containers":[{"name":"a"}]},"status":{"phase":"Pending"}}`,
			`{"cells":["p","0/1","Pending","0","5m","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e"],"object":null}`},
		{"running with restarts", `{"metadata":{"name":"p",` + created + `},"spec":{"nodeName":"n1","containers":[{"name":"a"},{"name":"b"}],` +
			`"readinessGates":[{"conditionType":"x"}]},"status":{"phase":"Running","podIP":"10.0.0.1","conditions":[{"type":"Ready","status":"True"},{"type":"x","status":"True"}],` +
			`"containerStatuses":[{"name":"a","ready":true,"restartCount":3,"state":{"running":{}},"lastState":{"terminated":{"exitCode":1,"finishedAt":"2025-01-01T11:58:00Z"}}},` +
			`{"name":"b","ready":false,"restartCount":0,"state":{"running":{}}}]}}`,
			`{"cells":["p","1/2","Running","3 (2m ago)","5m","10.0.0.1","n1","\u003cnone\u003e","1/1"],"object":null}`},
		{"crash loop", `{"metadata":{"name":"p",` + created + `},"spec":{"containers":[{"name":"a"}]},"status":{"phase":"Running",` +
			`"containerStatuses":[{"name":"a","restartCount":5,"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}`,
			`{"cells":["p","0/1","CrashLoopBackOff","5","5m","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e"],"object":null}`},
		{"completed", `{"metadata":{"name":"p",` + created + `},"spec":{"containers":[{"name":"a"}]},"status":{"phase":"Succeeded",` +
			`"containerStatuses":[{"name":"a","state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}}`,
			`{"cells":["p","0/1","Completed","0","5m","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e"],` +
				`"conditions":[{"type":"Completed","status":"True","reason":"Succeeded","message":"The pod has completed successfully."}],"object":null}`},
		{"exit code", `{"metadata":{"name":"p",` + created + `},"spec":{"containers":[{"name":"a"}]},"status":{"phase":"Failed",` +
			`"containerStatuses":[{"name":"a","state":{"terminated":{"exitCode":2}}}]}}`,
			`{"cells":["p","0/1","ExitCode:2","0","5m","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e"],` +
				`"conditions":[{"type":"Completed","status":"True","reason":"Failed","message":"The pod failed."}],"object":null}`},
		{"init waiting", `{"metadata":{"name":"p",` + created + `},"spec":{"initContainers":[{"name":"i"},{"name":"j"}],"containers":[{"name":"a"}]},` +
			`"status":{"phase":"Pending","initContainerStatuses":[{"name":"i","state":{"terminated":{"exitCode":0}}},{"name":"j","state":{"running":{}}}]}}`,
			`{"cells":["p","0/1","Init:1/2","0","5m","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e"],"object":null}`},
		{"terminating", `{"metadata":{"name":"p",` + created + `,"deletionTimestamp":"2025-01-01T11:59:00Z"},"spec":{"containers":[{"name":"a"}]},` +
			`"status":{"phase":"Running","containerStatuses":[{"name":"a","ready":true,"state":{"running":{}}}]}}`,
			`{"cells":["p","1/1","Terminating","0","5m","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e"],"object":null}`},
	} {
		if got := cellsOf(t, podRes, tc.pod); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// TestTable_B224_ExactJSON: the whole Table of one pod, v1, with its
// metadata as a PartialObjectMetadata, columns as kube-apiserver's.
func TestTable_B224_ExactJSON(t *testing.T) {
	t.Parallel()
	p, _ := For(podRes)
	raw := `{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"7","name":"p","namespace":"ns",` + created + `},"spec":{"containers":[{"name":"a"}]},"status":{"phase":"Pending"}}`
	got := string(p.AppendTable(nil, Options{Version: "v1", Include: IncludeMetadata}, []*api.Object{{Raw: []byte(raw)}}, ListMeta{ResourceVersion: "7"}, now))
	want := `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"7"},"columnDefinitions":[` +
		`{"name":"Name","type":"string","format":"name","description":"Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names","priority":0},` +
		`{"name":"Ready","type":"string","format":"","description":"The aggregate readiness state of this pod for accepting traffic.","priority":0},` +
		`{"name":"Status","type":"string","format":"","description":"The aggregate status of the containers in this pod.","priority":0},` +
		`{"name":"Restarts","type":"string","format":"","description":"The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.","priority":0},` +
		`{"name":"Age","type":"string","format":"","description":"CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata","priority":0},` +
		`{"name":"IP","type":"string","format":"","description":"podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.","priority":1},` +
		`{"name":"Node","type":"string","format":"","description":"NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename","priority":1},` +
		`{"name":"Nominated Node","type":"string","format":"","description":"nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.","priority":1},` +
		`{"name":"Readiness Gates","type":"string","format":"","description":"If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates","priority":1}],` +
		`"rows":[{"cells":["p","0/1","Pending","0","5m","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e"],` +
		`"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"7","name":"p","namespace":"ns",` + created + `}}}]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestTable_B227_PrinterColumnsAndDefault: configured JSONPath columns
// with their types, and NAME, AGE for a kind without a printer.
func TestTable_B227_PrinterColumnsAndDefault(t *testing.T) {
	t.Parallel()
	res := &api.Resource{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", PrinterColumns: []api.PrinterColumn{
		{Name: "Size", Type: "integer", JSONPath: ".spec.size"}, {Name: "Color", Type: "string", JSONPath: ".spec.color", Priority: 1},
		{Name: "On", Type: "boolean", JSONPath: ".spec.on"}, {Name: "Seen", Type: "date", JSONPath: ".status.seen"},
		{Name: "Missing", Type: "string", JSONPath: ".spec.none"}}}
	raw := `{"metadata":{"name":"w"},"spec":{"size":3,"color":"red","on":true},"status":{"seen":"2025-01-01T10:00:00Z"}}`
	if got, want := cellsOf(t, res, raw), `{"cells":["w",3,"red",true,"120m",null],"object":null}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	res = &api.Resource{Group: "example.com", Version: "v1", Resource: "gadgets", Kind: "Gadget"}
	if got, want := cellsOf(t, res, `{"metadata":{"name":"g",`+created+`}}`), `{"cells":["g","5m"],"object":null}`; got != want {
		t.Errorf("default: got %s, want %s", got, want)
	}
}

// TestRows_B225_OtherKinds: one row of each other printed kind.
func TestRows_B225_OtherKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		res       *api.Resource
		raw, want string
	}{
		{&api.Resource{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment"},
			`{"metadata":{"name":"d",` + created + `},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"d"}},"template":{"spec":{"containers":[{"name":"c","image":"nginx"},{"name":"s","image":"busybox"}]}}},"status":{"readyReplicas":1,"updatedReplicas":2,"availableReplicas":1}}`,
			`["d","1/3",2,1,"5m","c,s","nginx,busybox","app=d"]`},
		{&api.Resource{Group: "apps", Version: "v1", Resource: "replicasets", Kind: "ReplicaSet"},
			`{"metadata":{"name":"r",` + created + `},"spec":{"selector":{"matchLabels":{"app":"r"}},"template":{"spec":{"containers":[{"name":"c","image":"i"}]}}},"status":{"replicas":1}}`,
			`["r",1,1,0,"5m","c","i","app=r"]`},
		{&api.Resource{Version: "v1", Resource: "services", Kind: "Service"},
			`{"metadata":{"name":"s",` + created + `},"spec":{"clusterIP":"10.96.0.1","ports":[{"port":80},{"port":443,"nodePort":30443,"protocol":"TCP"}],"selector":{"app":"s"},"type":"NodePort"}}`,
			`["s","NodePort","10.96.0.1","\u003cnone\u003e","80/TCP,443:30443/TCP","5m","app=s"]`},
		{&api.Resource{Version: "v1", Resource: "nodes", Kind: "Node"},
			`{"metadata":{"name":"n",` + created + `,"labels":{"node-role.kubernetes.io/control-plane":""}},"spec":{"unschedulable":true},"status":{"conditions":[{"type":"Ready","status":"True"}],"addresses":[{"type":"InternalIP","address":"10.0.0.2"}],"nodeInfo":{"kubeletVersion":"v1.37.0","osImage":"Debian"}}}`,
			`["n","Ready,SchedulingDisabled","control-plane","5m","v1.37.0","10.0.0.2","\u003cnone\u003e","Debian","\u003cunknown\u003e","\u003cunknown\u003e"]`},
		{&api.Resource{Version: "v1", Resource: "namespaces", Kind: "Namespace"},
			`{"metadata":{"name":"ns",` + created + `},"status":{"phase":"Active"}}`, `["ns","Active","5m"]`},
		{&api.Resource{Version: "v1", Resource: "configmaps", Kind: "ConfigMap"},
			`{"metadata":{"name":"c",` + created + `},"data":{"a":"1","b":"2"},"binaryData":{"c":"AA=="}}`, `["c",3,"5m"]`},
		{&api.Resource{Version: "v1", Resource: "secrets", Kind: "Secret"},
			`{"metadata":{"name":"s",` + created + `},"data":{"a":"AA=="}}`, `["s","Opaque",1,"5m"]`},
		{&api.Resource{Version: "v1", Resource: "events", Kind: "Event"},
			`{"metadata":{"name":"e.1",` + created + `},"involvedObject":{"kind":"Pod","name":"p"},"reason":"Started","message":" hi ","type":"Normal","source":{"component":"kubelet","host":"n1"},"firstTimestamp":"2025-01-01T11:50:00Z","lastTimestamp":"2025-01-01T11:59:00Z","count":4}`,
			`["60s","Normal","Started","pod/p","","kubelet, n1","hi","10m",4,"e.1"]`},
		{&api.Resource{Group: "batch", Version: "v1", Resource: "jobs", Kind: "Job"},
			`{"metadata":{"name":"j",` + created + `},"spec":{"completions":2,"template":{"spec":{"containers":[{"name":"c","image":"i"}]}}},"status":{"succeeded":2,"startTime":"2025-01-01T11:56:00Z","completionTime":"2025-01-01T11:57:30Z","conditions":[{"type":"Complete","status":"True"}]}}`,
			`["j","Complete","2/2","90s","5m","c","i","\u003cnone\u003e"]`},
	} {
		got := cellsOf(t, tc.res, tc.raw)
		if want := `{"cells":` + tc.want + `,"object":null}`; got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.res.Kind, got, want)
		}
	}
}
