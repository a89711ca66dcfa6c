package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/watchcached/watchcached/cmd/watchcached/app"
)

// kubeStored is obj as kube-apiserver stores it: Kubernetes protobuf in
// the storage envelope, apiVersion and kind set, no resourceVersion.
func kubeStored(t *testing.T, obj runtime.Object) string {
	t.Helper()
	gvks, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil {
		t.Fatal(err)
	}
	o := obj.DeepCopyObject()
	o.GetObjectKind().SetGroupVersionKind(gvks[0])
	var b bytes.Buffer
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(o, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// podEvent is a core event about pod default/web-0 as a kubelet records it.
func podEvent(name, reason, message string) *corev1.Event {
	at := metav1.NewTime(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), CreationTimestamp: at},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0", UID: "uid-web-0", APIVersion: "v1"},
		Reason:         reason, Message: message, Type: "Normal", Count: 2, FirstTimestamp: at, LastTimestamp: at,
		Source:              corev1.EventSource{Component: "kubelet", Host: "node-1"},
		ReportingController: "kubelet", ReportingInstance: "node-1",
	}
}

// TestB191_EventsV1ListAndWatch: core events stored in protobuf by
// kube-apiserver are listed and watched through client-go's typed
// events.k8s.io/v1 client converted (note, regarding, deprecated*), and
// selected by the events.k8s.io field names.
func TestB191_EventsV1ListAndWatch(t *testing.T) {
	e := startEnv(t, func(c *app.Config) { c.Resources, c.ResourcesFile = nil, "kube" })
	closeIdleOnCleanup(t)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	pulled := podEvent("web-0.1", "Pulled", `Container image "nginx:1.27" already present on machine`)
	resp, err := e.etcd.Put(ctx, "/registry/events/default/web-0.1", kubeStored(t, pulled))
	if err != nil {
		t.Fatal(err)
	}
	evs := e.cs.EventsV1().Events("default")
	// A consistent list: it waits until the cache holds the write.
	list, err := evs.List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=web-0,reportingController=kubelet"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if want := converted(pulled, resp.Header.Revision); !sameEvent(&list.Items[0], want) {
		t.Errorf("listed\n %+v\nwant\n %+v", list.Items[0], *want)
	}
	none, err := evs.List(ctx, metav1.ListOptions{FieldSelector: "regarding.kind=Node"})
	if err != nil || len(none.Items) != 0 {
		t.Errorf("regarding.kind=Node: %v %v", none, err)
	}

	w, err := evs.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, FieldSelector: "reason=Started"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	started := podEvent("web-0.2", "Started", "Started container c")
	resp, err = e.etcd.Put(ctx, "/registry/events/default/web-0.2", kubeStored(t, started))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if want := converted(started, resp.Header.Revision); ev.Type != watch.Added || !sameEvent(ev.Object, want) {
			t.Errorf("watch: %v\n %+v\nwant\n %+v", ev.Type, ev.Object, want)
		}
	case <-ctx.Done():
		t.Fatal("no watch event")
	}
}

// converted is ev as events.k8s.io/v1 serves it at revision rev, written
// out field by field.
func converted(ev *corev1.Event, rev int64) *eventsv1.Event {
	md := ev.ObjectMeta
	md.ResourceVersion = strconv.FormatInt(rev, 10)
	return &eventsv1.Event{
		ObjectMeta: md, Regarding: ev.InvolvedObject, Reason: ev.Reason, Note: ev.Message, Type: ev.Type,
		DeprecatedSource: ev.Source, DeprecatedCount: ev.Count, DeprecatedFirstTimestamp: ev.FirstTimestamp,
		DeprecatedLastTimestamp: ev.LastTimestamp, ReportingController: ev.ReportingController, ReportingInstance: ev.ReportingInstance,
	}
}

// TestKubectl_DescribePodFindsItsEvents: `kubectl describe pod` of a pod
// stored in protobuf finds its events (stored in protobuf too) by field
// selector and prints them.
func TestKubectl_DescribePodFindsItsEvents(t *testing.T) {
	e := startEnv(t, func(c *app.Config) { c.Resources, c.ResourcesFile = nil, "kube" })
	closeIdleOnCleanup(t)
	k := newKubectl(t, e.url)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "default", UID: "uid-web-0"},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	other := podEvent("web-1.1", "Killing", "Stopping container c")
	other.InvolvedObject.Name, other.InvolvedObject.UID = "web-1", "uid-web-1"
	var last int64
	for key, obj := range map[string]runtime.Object{
		"/registry/pods/default/web-0":     pod,
		"/registry/events/default/web-0.1": podEvent("web-0.1", "Pulled", `Container image "nginx:1.27" already present on machine`),
		"/registry/events/default/web-1.1": other,
	} {
		resp, err := e.etcd.Put(t.Context(), key, kubeStored(t, obj))
		if err != nil {
			t.Fatal(err)
		}
		last = max(last, resp.Header.Revision)
	}
	waitFor(t, "the cache to hold the events", func() bool {
		_, _, body := e.do(t, http.MethodGet, "/api/v1/namespaces/default/events?resourceVersion="+strconv.FormatInt(last, 10)+"&resourceVersionMatch=NotOlderThan", "")
		return strings.Contains(body, "web-1.1")
	}, func() string { return "" })
	out := k.run(t, "", "describe", "pod", "web-0")
	i := strings.Index(out, "Events:")
	if i < 0 {
		t.Fatalf("no events in:\n%s", out)
	}
	events := out[i:]
	if !strings.Contains(events, "Pulled") || !strings.Contains(events, `Container image "nginx:1.27" already present on machine`) ||
		strings.Contains(events, "Killing") {
		t.Errorf("events of web-0:\n%s", events)
	}
}

// sameEvent reports whether got is an *eventsv1.Event equal to want but
// for its kind and apiVersion (which client-go's decoders keep in lists
// and drop in watches).
func sameEvent(got runtime.Object, want *eventsv1.Event) bool {
	ev, ok := got.(*eventsv1.Event)
	if !ok {
		return false
	}
	ev = ev.DeepCopy()
	ev.TypeMeta = metav1.TypeMeta{}
	return equality.Semantic.DeepEqual(ev, want)
}
