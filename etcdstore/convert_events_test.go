package etcdstore_test

import (
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/internal/testkit"
)

// eventsV1 is events.k8s.io/v1 events sharing core events' storage, as
// the kube catalogue serves them.
func eventsV1() *api.Resource {
	return &api.Resource{Group: "events.k8s.io", Version: "v1", Resource: "events", Kind: "Event", Namespaced: true,
		KeyPrefix: "events", SharesStorageWith: "events",
		SelectableFields: []string{"regarding.name", "reportingController", "reason"}}
}

// scheduledEvent is a core event as the scheduler records it, and the
// same event as events.k8s.io/v1 serves it (written out field by field,
// not by the conversion under test).
func scheduledEvent() (*corev1.Event, *eventsv1.Event) {
	at := metav1.NewTime(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	md := metav1.ObjectMeta{Name: "web-0.17a", Namespace: "ns1", UID: "u-ev", CreationTimestamp: at}
	ref := corev1.ObjectReference{Kind: "Pod", Namespace: "ns1", Name: "web-0", UID: "uid-web-0", APIVersion: "v1", ResourceVersion: "41"}
	related := &corev1.ObjectReference{Kind: "Node", Name: "node-a"}
	src := corev1.EventSource{Component: "default-scheduler", Host: "cp-1"}
	series := metav1.NewMicroTime(time.Date(2026, 12, 1, 10, 1, 0, 0, time.UTC))
	core := &corev1.Event{ObjectMeta: md, InvolvedObject: ref, Reason: "Scheduled", Message: "Successfully assigned ns1/web-0 to node-a",
		Source: src, FirstTimestamp: at, LastTimestamp: at, Count: 3, Type: "Normal", Action: "Binding", Related: related,
		Series: &corev1.EventSeries{Count: 2, LastObservedTime: series}, ReportingController: "default-scheduler", ReportingInstance: "cp-1"}
	v1 := &eventsv1.Event{ObjectMeta: md, Regarding: ref, Reason: "Scheduled", Note: "Successfully assigned ns1/web-0 to node-a",
		DeprecatedSource: src, DeprecatedFirstTimestamp: at, DeprecatedLastTimestamp: at, DeprecatedCount: 3, Type: "Normal",
		Action: "Binding", Related: related, Series: &eventsv1.EventSeries{Count: 2, LastObservedTime: series},
		ReportingController: "default-scheduler", ReportingInstance: "cp-1"}
	return core, v1
}

// TestB191_EventsV1FromCoreEvents: a core event stored in protobuf (as
// kube-apiserver stores it) or JSON is served by an events.k8s.io/v1
// store converted, as kube-apiserver serves it, with the events.k8s.io
// field names selectable; a watch delivers the converted object.
func TestB191_EventsV1FromCoreEvents(t *testing.T) {
	e := newEnv(t, eventsV1())
	core, want := scheduledEvent()
	from := api.FormatRV(e.rev())
	w := e.watch(api.WatchOptions{ResourceVersion: from})
	rev := e.put("/registry/events/ns1/web-0.17a", string(storedProto(t, core)))
	got, err := e.s.Get(e.ctx, "ns1", "web-0.17a", api.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkServed(t, "get", got.Raw, want, rev)
	if f := got.Fields; f["regarding.name"] != "web-0" || f["reportingController"] != "default-scheduler" || f["reason"] != "Scheduled" {
		t.Errorf("fields %v", f)
	}
	we, got2 := next(t, w)
	if got2 != (ev{api.Added, "ns1/web-0.17a", rev}) {
		t.Fatalf("watch: %v", got2)
	}
	checkServed(t, "watch", we.Object.Raw, want, rev)

	js := e.put("/registry/events/ns1/web-0.17a", string(encodeJSON(t, typed(t, core, ""))))
	got, err = e.s.Get(e.ctx, "ns1", "web-0.17a", api.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkServed(t, "get of a JSON core event", got.Raw, want, js)
}

// TestB191_EventsV1WritesStoreCoreEvents: an events.k8s.io/v1 event
// written through its store is stored in the core form (what core events
// and kube-apiserver read) and answered in the events.k8s.io form.
func TestB191_EventsV1WritesStoreCoreEvents(t *testing.T) {
	e := newEnv(t, eventsV1())
	core, v1 := scheduledEvent()
	v1.UID, core.UID = "", ""
	obj, err := e.s.Create(e.ctx, "ns1", encodeJSON(t, typed(t, v1, "")))
	if err != nil {
		t.Fatal(err)
	}
	// The store assigns the uid and generation 1 (B100), and records the
	// create's manager in the events.k8s.io form (B210).
	var served eventsv1.Event
	if err := json.Unmarshal(obj.Raw, &served); err != nil {
		t.Fatal(err)
	}
	if mf := served.ManagedFields; len(mf) != 1 || mf[0].Operation != metav1.ManagedFieldsOperationUpdate || mf[0].APIVersion != "events.k8s.io/v1" {
		t.Fatalf("managedFields of the create = %+v, want one Update entry of events.k8s.io/v1", mf)
	}
	want := withUID(v1, obj.UID)
	want.ManagedFields = served.ManagedFields
	checkServed(t, "create", obj.Raw, want, obj.RV)
	coreStore := testkit.Store(t, e.etcd, &api.Resource{Version: "v1", Resource: "events", Kind: "Event", Namespaced: true}, nil)
	stored, err := coreStore.Get(e.ctx, "ns1", "web-0.17a", api.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	core.UID, core.Generation, core.ManagedFields = types.UID(obj.UID), 1, served.ManagedFields
	checkServed(t, "the stored core event", stored.Raw, core, obj.RV)
}

func withUID(ev *eventsv1.Event, uid string) *eventsv1.Event {
	c := ev.DeepCopy()
	c.UID, c.Generation = types.UID(uid), 1
	return c
}

// BenchmarkDecode_EventsV1: one protobuf core event decoded, converted to
// events.k8s.io/v1 and encoded as JSON (what each event costs once,
// whatever the number of watchers), beside BenchmarkDecode_Protobuf.
func BenchmarkDecode_EventsV1(b *testing.B) {
	s := codecStore(eventsV1())
	core, _ := scheduledEvent()
	value := storedProto(b, core)
	b.ReportAllocs()
	b.SetBytes(int64(len(value)))
	for b.Loop() {
		if _, err := s.Decode("/registry/events/ns1/web-0.17a", value, 123456); err != nil {
			b.Fatal(err)
		}
	}
}
