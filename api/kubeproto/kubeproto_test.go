package kubeproto

import (
	"bytes"
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/watchcached/watchcached/api"
)

var (
	serializer = protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	raw        = protobuf.NewRawSerializer(scheme.Scheme, scheme.Scheme)
)

func testPod(name, rv string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns1", ResourceVersion: rv, UID: types.UID("u-" + name),
			Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "img:1"}}},
	}
}

// object is p as a store holds it: its JSON.
func object(t *testing.T, p *corev1.Pod) *api.Object {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return &api.Object{Key: "/registry/pods/ns1/" + p.Name, Raw: b}
}

func encode(t *testing.T, enc runtime.Encoder, obj runtime.Object) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := enc.Encode(obj, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The envelope around an object's protobuf (what a GET answers) is byte
// for byte apimachinery's protobuf serializer's.
func TestDocumentMatchesSerializer(t *testing.T) {
	p := testPod("web", "12")
	rawPod, err := Encoder{}.Encode(object(t, p))
	if err != nil {
		t.Fatal(err)
	}
	got := AppendEnvelopeHead(nil, "v1", "Pod", len(rawPod))
	got = append(append(got, rawPod...), EnvelopeTail...)
	want := encode(t, serializer, p)
	if !bytes.Equal(got, want) {
		t.Fatalf("envelope\n got %x\nwant %x", got, want)
	}
	if n := EnvelopeLen("v1", "Pod", len(rawPod)); n != len(want) {
		t.Errorf("EnvelopeLen %d, want %d", n, len(want))
	}
	st := &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: "Failure",
		Message: `pods "x" not found`, Reason: metav1.StatusReasonNotFound, Code: 404,
		Details: &metav1.StatusDetails{Name: "x", Kind: "pods"}}
	doc, err := Status(st)
	if err != nil || !bytes.Equal(doc, encode(t, serializer, st)) {
		t.Errorf("Status document differs from the serializer's (%v)", err)
	}
}

// A list written from its items' protobuf is the serializer's encoding of
// the typed list, with and without continue and remainingItemCount.
func TestListMatchesSerializer(t *testing.T) {
	pods := []*corev1.Pod{testPod("a", "5"), testPod("b", "7"), testPod("c", "9")}
	remaining := int64(4)
	for _, m := range []ListMeta{{ResourceVersion: 10}, {ResourceVersion: 10, Continue: "tok", RemainingItemCount: &remaining}, {ResourceVersion: 3}} {
		items := pods
		if m.ResourceVersion == 3 {
			items = nil
		}
		list := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"},
			ListMeta: metav1.ListMeta{ResourceVersion: "10", Continue: m.Continue, RemainingItemCount: m.RemainingItemCount}}
		if m.ResourceVersion == 3 {
			list.ResourceVersion = "3"
		}
		var raws [][]byte
		itemsLen := 0
		for _, p := range items {
			list.Items = append(list.Items, *p)
			r, err := Encoder{}.Encode(object(t, p))
			if err != nil {
				t.Fatal(err)
			}
			raws = append(raws, r)
			itemsLen += ItemLen(len(r))
		}
		got := AppendListHead(nil, "v1", "PodList", m, itemsLen)
		for _, r := range raws {
			got = append(AppendItemHead(got, len(r)), r...)
		}
		got = append(got, EnvelopeTail...)
		want := encode(t, serializer, list)
		if !bytes.Equal(got, want) {
			t.Errorf("%+v: list\n got %x\nwant %x", m, got, want)
		}
		if n := ListLen("v1", "PodList", m, itemsLen); n != len(want) {
			t.Errorf("%+v: ListLen %d, want %d", m, n, len(want))
		}
	}
}

// A watch frame is the raw serializer's WatchEvent, length-prefixed as
// apimachinery's framer writes it; a bookmark's object decodes to an empty
// pod at its RV with the initial-events-end annotation.
func TestEventFrameMatchesSerializer(t *testing.T) {
	p := testPod("web", "12")
	rawPod, err := Encoder{}.Encode(object(t, p))
	if err != nil {
		t.Fatal(err)
	}
	ev := &metav1.WatchEvent{Type: "MODIFIED", Object: runtime.RawExtension{Raw: encode(t, serializer, p)}}
	var want bytes.Buffer
	if _, err := protobuf.LengthDelimitedFramer.NewFrameWriter(&want).Write(encode(t, raw, ev)); err != nil {
		t.Fatal(err)
	}
	if got := AppendEventFrame(nil, "MODIFIED", "v1", "Pod", rawPod); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("frame\n got %x\nwant %x", got, want.Bytes())
	}
	bm, err := BookmarkRaw(schema.GroupVersion{Version: "v1"}, "Pod", "42", true)
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := pod.Unmarshal(bm); err != nil || pod.ResourceVersion != "42" || pod.Annotations["k8s.io/initial-events-end"] != "true" {
		t.Errorf("bookmark object %+v (%v)", pod.ObjectMeta, err)
	}
}

func TestBuiltin(t *testing.T) {
	for _, tc := range []struct {
		gv   schema.GroupVersion
		kind string
		want bool
	}{
		{schema.GroupVersion{Version: "v1"}, "Pod", true},
		{schema.GroupVersion{Group: "apps", Version: "v1"}, "Deployment", true},
		{schema.GroupVersion{Group: "example.com", Version: "v1"}, "Widget", false},
		{schema.GroupVersion{Version: "v2"}, "Pod", false},
	} {
		if got := Builtin(tc.gv, tc.kind); got != tc.want {
			t.Errorf("Builtin(%s, %s) = %v", tc.gv, tc.kind, got)
		}
	}
}
