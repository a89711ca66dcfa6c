package server

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"

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
	opts := api.GetOptions{ResourceVersion: in.GetResourceVersion()}
	if err := opts.Validate(); err != nil {
		return nil, g.fail(err, req)
	}
	ctx, cancel, _ := timeoutContext(ctx, 0)
	defer cancel()
	obj, err := req.entry.storage.Get(ctx, req.namespace, req.name, opts)
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
	opts, err := grpcListOptions(in, req)
	if err != nil {
		return nil, g.fail(err, req)
	}
	ctx, cancel, err := timeoutContext(ctx, in.GetTimeoutSeconds())
	defer cancel()
	if err != nil {
		return nil, g.fail(err, req)
	}
	list, err := req.entry.storage.List(ctx, opts)
	if err != nil {
		return nil, g.fail(err, req)
	}
	out := &pb.ListResponse{
		Items:              make([][]byte, len(list.Items)),
		ResourceVersion:    list.RV,
		Continue:           list.Continue,
		RemainingItemCount: list.RemainingItemCount,
	}
	for i, o := range list.Items {
		out.Items[i] = o.Raw
	}
	return out, nil
}

// Watch streams events until the watch's deadline (clean end, OK), the
// storage's end, the client's cancellation, or CloseWatches; a watch
// error ends the RPC with the mapped status (B32, B43: OUT_OF_RANGE,
// reason Expired).
func (g *grpcService) Watch(in *pb.WatchRequest, stream grpc.ServerStreamingServer[pb.WatchEvent]) error {
	req, err := g.collectionRequest(in.GetResource(), in.GetNamespace(), verbWatch)
	if err != nil {
		return g.fail(err, req)
	}
	opts, err := grpcWatchOptions(in, req)
	if err != nil {
		return g.fail(err, req)
	}
	if g.s.stopCtx.Err() != nil {
		return grpcstatus.Error(codes.Unavailable, "the server is shutting down")
	}
	timeout := secondsDuration(in.GetTimeoutSeconds())
	if timeout == 0 {
		timeout = g.s.randomWatchTimeout()
	}
	ctx, cancel := context.WithTimeout(stream.Context(), timeout)
	defer cancel()
	defer context.AfterFunc(g.s.stopCtx, cancel)()

	watcher, err := req.entry.storage.Watch(ctx, opts)
	if err != nil {
		return g.fail(err, req)
	}
	defer watcher.Close()
	resource := req.entry.res.GroupResource()
	g.metrics.watchers.WithLabelValues(resource).Inc()
	defer g.metrics.watchers.WithLabelValues(resource).Dec()
	if err := stream.SendHeader(metadata.Pairs(WatchStartedHeader, "true")); err != nil {
		return err
	}
	return g.streamEvents(ctx, stream, watcher, req, opts.AllowWatchBookmarks)
}

// streamEvents sends events from watcher until the stream ends.
func (g *grpcService) streamEvents(ctx context.Context, stream grpc.ServerStreamingServer[pb.WatchEvent], watcher api.Watcher, req *request, bookmarks bool) error {
	sent := g.metrics.sent.WithLabelValues(req.entry.res.GroupResource())
	for {
		ev, err := watcher.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) ||
				errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				return nil
			}
			return g.fail(err, req)
		}
		if ev.Type == api.Bookmark && !bookmarks || ev.Type != api.Bookmark && ev.Object == nil {
			continue
		}
		if err := stream.Send(pbEvent(ev)); err != nil {
			return err
		}
		sent.Inc()
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

// grpcListOptions checks a ListRequest as listOptions checks a query.
func grpcListOptions(in *pb.ListRequest, req *request) (api.ListOptions, error) {
	o := api.ListOptions{
		Namespace:            req.namespace,
		ResourceVersion:      in.GetResourceVersion(),
		ResourceVersionMatch: in.GetResourceVersionMatch(),
		Limit:                in.GetLimit(),
		Continue:             in.GetContinue(),
		SendInitialEvents:    in.SendInitialEvents,
	}
	if o.Continue != "" {
		if _, _, err := api.DecodeContinue(o.Continue); err != nil {
			return o, err
		}
	}
	var err error
	if o.Predicate, err = api.ParsePredicate(in.GetLabelSelector(), in.GetFieldSelector(), req.entry.res.SelectableFields); err != nil {
		return o, err
	}
	return o, o.Validate()
}

// grpcWatchOptions checks a WatchRequest as watchOptions checks a query.
func grpcWatchOptions(in *pb.WatchRequest, req *request) (api.WatchOptions, error) {
	o := api.WatchOptions{
		Namespace:            req.namespace,
		ResourceVersion:      in.GetResourceVersion(),
		ResourceVersionMatch: in.GetResourceVersionMatch(),
		SendInitialEvents:    in.SendInitialEvents,
		AllowWatchBookmarks:  in.GetAllowWatchBookmarks(),
	}
	if in.GetTimeoutSeconds() < 0 {
		return o, api.BadParam("timeoutSeconds", "invalid timeoutSeconds: %d must not be negative", in.GetTimeoutSeconds())
	}
	var err error
	if o.Predicate, err = api.ParsePredicate(in.GetLabelSelector(), in.GetFieldSelector(), req.entry.res.SelectableFields); err != nil {
		return o, err
	}
	return o, o.Validate()
}
