package etcdstore

import (
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/watchcached/watchcached/api"
)

// A resource served from another resource's stored objects.
//
// kube-apiserver keeps one storage for core v1 Events and events.k8s.io/v1
// Events ("/registry/events/"), always in the core form, and converts each
// object to the group a client asked for. watchcached does the same for a
// resource declared to share core events' storage (sharesStorageWith:
// events): its store decodes every stored value in the core form and
// converts it, once per value read from etcd, so every list and watcher
// shares the converted bytes exactly as they share any decoded object; and
// it converts a write back to the core form before storing it. The
// conversion renames the fields that differ (involvedObject is regarding,
// message is note, source, firstTimestamp, lastTimestamp and count carry a
// "deprecated" prefix, reportingComponent is reportingController) and
// copies the rest.

// conversion converts between the stored form of a resource's objects and
// the form it serves. Its functions are pure and safe for concurrent use.
type conversion struct {
	stored schema.GroupVersionKind
	// newServed and newStored are empty objects of either form.
	newServed, newStored func() runtime.Object
	toServed             func(stored runtime.Object) runtime.Object
	toStored             func(served runtime.Object) runtime.Object
}

var (
	coreEventGVK   = schema.GroupVersionKind{Version: "v1", Kind: "Event"}
	eventsEventGVK = schema.GroupVersionKind{Group: "events.k8s.io", Version: "v1", Kind: "Event"}
)

// conversionFor returns the conversion of res, nil when res serves its
// objects as stored.
func conversionFor(res *api.Resource) *conversion {
	gvk := schema.GroupVersionKind{Group: res.Group, Version: res.Version, Kind: res.Kind}
	if gvk == eventsEventGVK && res.SharesStorageWith == "events" {
		return eventsConversion
	}
	return nil
}

var eventsConversion = &conversion{
	stored:    coreEventGVK,
	newServed: func() runtime.Object { return &eventsv1.Event{} },
	newStored: func() runtime.Object { return &corev1.Event{} },
	toServed:  func(o runtime.Object) runtime.Object { return coreToEventsEvent(o.(*corev1.Event)) },
	toStored:  func(o runtime.Object) runtime.Object { return eventsToCoreEvent(o.(*eventsv1.Event)) },
}

// coreToEventsEvent is the events.k8s.io/v1 form of a core v1 Event.
func coreToEventsEvent(in *corev1.Event) *eventsv1.Event {
	out := &eventsv1.Event{
		ObjectMeta:               in.ObjectMeta,
		EventTime:                in.EventTime,
		ReportingController:      in.ReportingController,
		ReportingInstance:        in.ReportingInstance,
		Action:                   in.Action,
		Reason:                   in.Reason,
		Regarding:                in.InvolvedObject,
		Related:                  in.Related,
		Note:                     in.Message,
		Type:                     in.Type,
		DeprecatedSource:         in.Source,
		DeprecatedFirstTimestamp: in.FirstTimestamp,
		DeprecatedLastTimestamp:  in.LastTimestamp,
		DeprecatedCount:          in.Count,
	}
	if in.Series != nil {
		out.Series = &eventsv1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	out.SetGroupVersionKind(eventsEventGVK)
	return out
}

// eventsToCoreEvent is the core v1 form of an events.k8s.io/v1 Event.
func eventsToCoreEvent(in *eventsv1.Event) *corev1.Event {
	out := &corev1.Event{
		ObjectMeta:          in.ObjectMeta,
		InvolvedObject:      in.Regarding,
		Reason:              in.Reason,
		Message:             in.Note,
		Source:              in.DeprecatedSource,
		FirstTimestamp:      in.DeprecatedFirstTimestamp,
		LastTimestamp:       in.DeprecatedLastTimestamp,
		Count:               in.DeprecatedCount,
		Type:                in.Type,
		EventTime:           in.EventTime,
		Action:              in.Action,
		Related:             in.Related,
		ReportingController: in.ReportingController,
		ReportingInstance:   in.ReportingInstance,
	}
	if in.Series != nil {
		out.Series = &corev1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	out.SetGroupVersionKind(coreEventGVK)
	return out
}
