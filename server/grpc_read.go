package server

import (
	"context"

	"google.golang.org/grpc"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// WatchStartedHeader is the response header a Watch sends once the watch
// has started, before any event: a client that waits for the headers
// learns that its request was accepted (or, when the stream ends without
// them, gets the rejection's status) before it reads events.
const WatchStartedHeader = "watchcached-watch-started"

// Get serves one object (B1-B7).
func (g *grpcService) Get(ctx context.Context, in *pb.GetRequest) (*pb.Object, error) {
	req, err := g.objectRequest(in.GetResource(), in.GetNamespace(), in.GetName(), verbGet)
	if err != nil {
		return nil, g.fail(err, req)
	}
	obj, err := req.get(ctx, &query{resourceVersion: in.GetResourceVersion()})
	if err != nil {
		return nil, g.fail(err, req)
	}
	return pbObject(obj), nil
}

// List serves a list (B10-B26): the items are the objects' JSON as cached,
// never re-encoded.
func (g *grpcService) List(ctx context.Context, in *pb.ListRequest) (*pb.ListResponse, error) {
	req, err := g.collectionRequest(in.GetResource(), in.GetNamespace(), verbList)
	if err != nil {
		return nil, g.fail(err, req)
	}
	q := g.query(in)
	q.limit, q.continueToken, q.sendInitialEvents = in.GetLimit(), in.GetContinue(), in.SendInitialEvents
	list, err := req.list(ctx, q)
	if err != nil {
		return nil, g.fail(err, req)
	}
	out := &pb.ListResponse{
		Items:              make([][]byte, 0, len(list.Items)),
		ResourceVersion:    list.RV,
		Continue:           list.Continue,
		RemainingItemCount: list.RemainingItemCount,
	}
	for o := range list.All() {
		out.Items = append(out.Items, o.Raw)
	}
	return out, nil
}

// Watch streams events through the one stream loop (core_stream.go) until
// the watch's deadline (clean end, OK), the storage's end, the client's
// cancellation, or CloseWatches; a watch error ends the RPC with the
// mapped status (B32, B43: OUT_OF_RANGE, reason Expired).
func (g *grpcService) Watch(in *pb.WatchRequest, stream grpc.ServerStreamingServer[pb.WatchEvent]) error {
	req, err := g.collectionRequest(in.GetResource(), in.GetNamespace(), verbWatch)
	if err != nil {
		return g.fail(err, req)
	}
	q := g.query(in)
	q.sendInitialEvents, q.allowWatchBookmarks = in.SendInitialEvents, in.GetAllowWatchBookmarks()
	resource := req.entry.res.GroupResource()
	m := streamMetrics{frontend: "grpc", watchers: g.metrics.watchers.WithLabelValues(resource), sent: g.metrics.sent.WithLabelValues(resource),
		slow: g.s.metrics.slowBy("grpc")}
	rejected, ended := g.s.watch(stream.Context(), req, q, newGRPCSender(g, stream, req), m)
	if rejected != nil {
		return g.fail(rejected, req)
	}
	return ended
}

// readRequest is what a ListRequest and a WatchRequest share.
type readRequest interface {
	GetResourceVersion() string
	GetResourceVersionMatch() string
	GetLabelSelector() string
	GetFieldSelector() string
	GetTimeoutSeconds() int64
}

// query fills the neutral query (core_query.go) with the fields every
// read request has, under the server's selector limits; the caller adds
// its own.
func (g *grpcService) query(in readRequest) *query {
	return &query{
		limits:               g.s.selectors,
		resourceVersion:      in.GetResourceVersion(),
		resourceVersionMatch: in.GetResourceVersionMatch(),
		labelSelector:        in.GetLabelSelector(),
		fieldSelector:        in.GetFieldSelector(),
		timeoutSeconds:       in.GetTimeoutSeconds(),
	}
}

// pbEventTypes maps the api's event types to the proto's.
var pbEventTypes = map[api.EventType]pb.EventType{
	api.Added:    pb.EventType_EVENT_TYPE_ADDED,
	api.Modified: pb.EventType_EVENT_TYPE_MODIFIED,
	api.Deleted:  pb.EventType_EVENT_TYPE_DELETED,
	api.Bookmark: pb.EventType_EVENT_TYPE_BOOKMARK,
}

// pbEvent is the wire form of ev; the object's JSON is shared, not copied.
func pbEvent(ev api.WatchEvent) *pb.WatchEvent {
	out := &pb.WatchEvent{Type: pbEventTypes[ev.Type], ResourceVersion: ev.RV, InitialEventsEnd: ev.InitialEventsEnd}
	if ev.Type != api.Bookmark {
		out.Object = ev.Object.Raw
	}
	return out
}

func pbObject(o *api.Object) *pb.Object {
	return &pb.Object{Json: o.Raw, ResourceVersion: o.RV}
}
