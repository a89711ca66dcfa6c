package etcdstore_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/internal/testkit"
)

// Objects stored in protobuf by kube-apiserver, at its keys, are served
// by Get and List as the JSON kube-apiserver serves, beside JSON values.
func TestProtobuf_GetAndListBuiltins(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		res      *api.Resource
		key      string
		ns, name string
		obj      runtime.Object
	}{
		{testkit.Pods(), "/registry/pods/ns1/web-0", "ns1", "web-0", protoPod("ns1", "web-0", "node-a", 0)},
		{&api.Resource{Version: "v1", Resource: "services", Kind: "Service", Namespaced: true, KeyPrefix: "services/specs"},
			"/registry/services/specs/ns1/web", "ns1", "web", &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns1", UID: "u-svc"},
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", Selector: map[string]string{"app": "web"},
					Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
			}},
		{&api.Resource{Version: "v1", Resource: "nodes", Kind: "Node", KeyPrefix: "minions"},
			"/registry/minions/node-a", "", "node-a", &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "node-a", UID: "u-node", Labels: map[string]string{"kubernetes.io/hostname": "node-a"}},
				Spec:       corev1.NodeSpec{PodCIDR: "10.244.0.0/24", Unschedulable: true},
				Status: corev1.NodeStatus{Capacity: corev1.ResourceList{},
					Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
			}},
		{&api.Resource{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true, KeyPrefix: "deployments"},
			"/registry/deployments/ns1/web", "ns1", "web", &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns1", UID: "u-dep", Generation: 3},
				Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2),
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					Template: corev1.PodTemplateSpec{Spec: protoPod("", "", "", 0).Spec}},
				Status: appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 2},
			}},
		{&api.Resource{Version: "v1", Resource: "events", Kind: "Event", Namespaced: true},
			"/registry/events/ns1/web-0.17a", "ns1", "web-0.17a", &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "web-0.17a", Namespace: "ns1", UID: "u-ev"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "ns1", Name: "web-0", UID: "uid-web-0"},
				Reason:         "Scheduled", Message: "Successfully assigned ns1/web-0 to node-a", Type: "Normal",
				Source: corev1.EventSource{Component: "default-scheduler"}, Count: 1,
			}},
	} {
		t.Run(tc.res.Resource, func(t *testing.T) {
			s := testkit.Store(t, e.etcd, tc.res, nil)
			rev := e.put(tc.key, string(storedProto(t, tc.obj)))
			got, err := s.Get(e.ctx, tc.ns, tc.name, api.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkServed(t, "get", got.Raw, tc.obj, rev)
			if got.RV != rev || got.Key != tc.key || got.Namespace != tc.ns || got.Name != tc.name {
				t.Fatalf("get decoded %+v", got)
			}
			l, err := s.List(e.ctx, api.ListOptions{})
			if err != nil || len(l.Items) != 1 {
				t.Fatalf("list: %v %v", l, err)
			}
			checkServed(t, "list", l.Items[0].Raw, tc.obj, rev)
		})
	}
}

// A protobuf pod's labels and selectable fields are decoded, and the pod
// lists beside a JSON one; a field selector picks the protobuf pod.
func TestProtobuf_SelectableFieldsAndMixedValues(t *testing.T) {
	e := newEnv(t, nil)
	pb := protoPod("ns1", "pb", "node-a", 0)
	rev := e.put("/registry/pods/ns1/pb", string(storedProto(t, pb)))
	js := e.create("ns1", "js", "node-b", nil)
	pred, err := api.ParsePredicate("app=web", "spec.nodeName=node-a", []string{"spec.nodeName"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.s.List(e.ctx, api.ListOptions{Predicate: pred})
	if err != nil || !slices.Equal(names(l.Items), []string{"ns1/pb"}) {
		t.Fatalf("filtered list %v %v", names(l.Items), err)
	}
	o := l.Items[0]
	checkServed(t, "list", o.Raw, pb, rev)
	if o.Fields["spec.nodeName"] != "node-a" || o.Labels["app"] != "web" || o.UID != "uid-pb" {
		t.Fatalf("decoded fields %v labels %v uid %q", o.Fields, o.Labels, o.UID)
	}
	all, err := e.s.List(e.ctx, api.ListOptions{})
	if err != nil || !slices.Equal(names(all.Items), []string{"ns1/js", "ns1/pb"}) {
		t.Fatalf("list %v %v", names(all.Items), err)
	}
	if string(all.Items[0].Raw) != string(js.Raw) {
		t.Fatalf("the JSON pod changed: %s, want %s", all.Items[0].Raw, js.Raw)
	}
}

// Watches deliver protobuf-stored creates, updates and deletes as JSON,
// with the previous state when a pod leaves a field selector's set.
func TestProtobuf_WatchUpdatesAndDeletes(t *testing.T) {
	e := newEnv(t, nil)
	pred, err := api.ParsePredicate("", "spec.nodeName=node-a", []string{"spec.nodeName"})
	if err != nil {
		t.Fatal(err)
	}
	from := api.FormatRV(e.rev())
	all := e.watch(api.WatchOptions{ResourceVersion: from})
	onA := e.watch(api.WatchOptions{ResourceVersion: from, Predicate: pred})
	const key = "/registry/pods/ns1/p"
	v1, v2, v3 := protoPod("ns1", "p", "node-a", 1), protoPod("ns1", "p", "node-a", 2), protoPod("ns1", "p", "node-b", 3)
	r1 := e.put(key, string(storedProto(t, v1)))
	r2 := e.put(key, string(storedProto(t, v2)))
	r3 := e.put(key, string(storedProto(t, v3)))
	resp, err := e.etcd.Client.Delete(e.ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	r4 := uint64(resp.Header.Revision)

	for i, want := range []struct {
		typ api.EventType
		obj runtime.Object
		rv  uint64
	}{{api.Added, v1, r1}, {api.Modified, v2, r2}, {api.Modified, v3, r3}, {api.Deleted, v3, r4}} {
		we, got := next(t, all)
		if got != (ev{want.typ, "ns1/p", want.rv}) {
			t.Fatalf("event %d: %v", i, got)
		}
		checkServed(t, fmt.Sprintf("event %d", i), we.Object.Raw, want.obj, want.rv)
	}
	for i, want := range []struct {
		typ api.EventType
		obj runtime.Object
		rv  uint64
	}{{api.Added, v1, r1}, {api.Modified, v2, r2}, {api.Deleted, v2, r3}} {
		we, got := next(t, onA)
		if got != (ev{want.typ, "ns1/p", want.rv}) {
			t.Fatalf("filtered event %d: %v", i, got)
		}
		checkServed(t, fmt.Sprintf("filtered event %d", i), we.Object.Raw, want.obj, want.rv)
	}
}

// logBuffer is a slog destination safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer // guarded by mu
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// Values encrypted at rest, protobuf of another kind, of a kind unknown
// to Kubernetes, or broken: the 500 naming the key and the reason, skipped
// by lists, reported; one warning for the resource's encrypted values.
func TestProtobuf_Undecodable(t *testing.T) {
	e := newEnv(t, nil)
	logs := &logBuffer{}
	errs := &decodeErrors{}
	s, err := etcdstore.New(etcdstore.Config{Client: e.etcd.Client, Resource: testkit.Pods(), OnDecodeError: errs.record,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	e.put("/registry/pods/ns1/ok", string(storedProto(t, protoPod("ns1", "ok", "n", 0))))
	unknown := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: "example.com/v1", Kind: "Widget"}, Raw: []byte{0x0a, 0}}
	ub, err := unknown.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "svc", Namespace: "ns1"}}
	cases := []struct{ name, value, why string }{
		{"aescbc", "k8s:enc:aescbc:v1:key1:\x8f\x01\xffciphertext", "value is encrypted at rest (aescbc, key key1); watchcached cannot decrypt it"},
		{"kms", "k8s:enc:kms:v2:vault:\x0a\x10ciphertext", "value is encrypted at rest (kms v2, provider vault); watchcached cannot decrypt it"},
		{"secretbox", "k8s:enc:secretbox:v1:k2:\x00\x01", "value is encrypted at rest (secretbox, key k2); watchcached cannot decrypt it"},
		{"svc", string(storedProto(t, svc)), "the stored object is v1 Service, not v1 Pod"},
		{"widget", "k8s\x00" + string(ub), "protobuf of example.com/v1 Widget, a kind not built into Kubernetes"},
		{"broken", "k8s\x00\x0a\x05v1", "protobuf does not decode: "},
	}
	for _, c := range cases {
		key := "/registry/pods/ns1/" + c.name
		rev := e.put(key, c.value)
		_, err := s.Get(e.ctx, "ns1", c.name, api.GetOptions{})
		ae := wantErr(t, err, api.ErrCorrupt)
		if want := corruptMsg(key, rev, c.why); ae.Message != want && !(c.name == "broken" && strings.HasPrefix(ae.Message, want)) {
			t.Errorf("%s: %q\nwant %q", c.name, ae.Message, want)
		}
		if errs.count(key) != 1 || !s.KnownCorrupt(key) {
			t.Errorf("%s: reported %d times, known %v", c.name, errs.count(key), s.KnownCorrupt(key))
		}
	}
	l, err := s.List(e.ctx, api.ListOptions{})
	if err != nil || !slices.Equal(names(l.Items), []string{"ns1/ok"}) {
		t.Fatalf("list %v %v", names(l.Items), err)
	}
	if n := logs.count("values of this resource are encrypted at rest"); n != 1 {
		t.Fatalf("%d warnings about encrypted values, want 1:\n%s", n, logs.b.String())
	}
	if n := logs.count("skipping a value that does not decode"); n != len(cases) {
		t.Fatalf("%d warnings about undecodable keys, want %d (one per key)", n, len(cases))
	}
}

// BenchmarkDecode_Protobuf decodes the pod of BenchmarkDecode as
// kube-apiserver stores it (protobuf decode + JSON encode + the JSON path).
func BenchmarkDecode_Protobuf(b *testing.B) {
	s := codecStore(testkit.Pods())
	p := protoPod("default", "web-0", "node-17", 0)
	p.UID = "0b9c7d2e-1111-4c1c-9a51-3f1f5c1e8e11"
	p.Labels["pod-template-hash"] = "abc123"
	p.Annotations = map[string]string{"note": strings.Repeat("x", 400)}
	value := storedProto(b, p)
	b.ReportAllocs()
	b.SetBytes(int64(len(value)))
	for b.Loop() {
		if _, err := s.Decode("/registry/pods/default/web-0", value, 123456); err != nil {
			b.Fatal(err)
		}
	}
}
