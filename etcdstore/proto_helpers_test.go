package etcdstore_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
)

// The objects of these tests are written as kube-apiserver writes them and
// compared with what kube-apiserver serves, using apimachinery's own
// serializers over client-go's scheme.
var (
	k8sProto = protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	k8sJSON  = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, kjson.SerializerOptions{})
)

// typed returns a copy of obj with its apiVersion and kind set (as
// kube-apiserver's versioning codec sets them) and resourceVersion rv.
func typed(t testing.TB, obj runtime.Object, rv string) runtime.Object {
	t.Helper()
	o := obj.DeepCopyObject()
	gvks, _, err := scheme.Scheme.ObjectKinds(o)
	if err != nil {
		t.Fatal(err)
	}
	o.GetObjectKind().SetGroupVersionKind(gvks[0])
	m, err := apimeta.Accessor(o)
	if err != nil {
		t.Fatal(err)
	}
	m.SetResourceVersion(rv)
	return o
}

// storedProto is obj byte for byte as kube-apiserver stores it: no
// resourceVersion, Kubernetes protobuf in the storage envelope.
func storedProto(t testing.TB, obj runtime.Object) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := k8sProto.Encode(typed(t, obj, ""), &b); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte("k8s\x00")) {
		t.Fatalf("not the protobuf envelope: %q", b.Bytes()[:8])
	}
	return b.Bytes()
}

func encodeJSON(t testing.TB, obj runtime.Object) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := k8sJSON.Encode(obj, &b); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// servedJSON is the JSON kube-apiserver serves for obj at rev.
func servedJSON(t testing.TB, obj runtime.Object, rev uint64) []byte {
	return encodeJSON(t, typed(t, obj, strconv.FormatUint(rev, 10)))
}

// wantRaw is what watchcached serves for obj at rev: kube-apiserver's
// bytes, except that resourceVersion is metadata's first member.
func wantRaw(t testing.TB, obj runtime.Object, rev uint64) string {
	t.Helper()
	s := string(encodeJSON(t, typed(t, obj, "")))
	const md = `"metadata":{`
	i := strings.Index(s, md)
	if i < 0 {
		t.Fatalf("no metadata in %s", s)
	}
	i += len(md)
	return s[:i] + `"resourceVersion":"` + strconv.FormatUint(rev, 10) + `",` + s[i:]
}

// checkServed fails unless raw is obj at rev as watchcached serves it, and
// equal (as JSON) to what kube-apiserver serves.
func checkServed(t testing.TB, what string, raw []byte, obj runtime.Object, rev uint64) {
	t.Helper()
	if want := wantRaw(t, obj, rev); string(raw) != want {
		t.Fatalf("%s:\n got %s\nwant %s", what, raw, want)
	}
	var got, want any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(servedJSON(t, obj, rev), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: %s is not the JSON kube-apiserver serves: %s", what, raw, servedJSON(t, obj, rev))
	}
}

// protoPod is a pod as a cluster holds it; gen > 0 adds an annotation.
func protoPod(ns, name, node string, gen int) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID("uid-" + name),
			Labels:            map[string]string{"app": "web"},
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{
				Name: "c", Image: "nginx:1.27",
				Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
			}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.7"},
	}
	if gen > 0 {
		p.Annotations = map[string]string{"gen": strconv.Itoa(gen)}
	}
	return p
}
