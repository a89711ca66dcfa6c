package client

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// watchStartedHeader is the server's WatchStartedHeader.
const watchStartedHeader = "watchcached-watch-started"

// Event is one watch event. For Added, Modified and Deleted, Object is the
// object's JSON and ResourceVersion its RV; for Bookmark, Object is nil and
// ResourceVersion is the bookmark's RV, InitialEventsEnd marking the end of
// the initial events (B33).
type Event struct {
	Type             api.EventType
	Object           []byte
	ResourceVersion  uint64
	InitialEventsEnd bool
}

// WatchStream reads one watch. It is read by a single goroutine: Next must
// not be called concurrently; Close may be called from any goroutine and
// ends a Next in progress.
type WatchStream struct {
	stream  grpc.ServerStreamingClient[pb.WatchEvent]
	cancel  context.CancelFunc
	pending *pb.WatchEvent // an event read while waiting for the headers
	err     error          // the error that ended the stream, returned again by Next
	closing atomic.Bool    // set by Close: the end that follows is io.EOF
}

// Watch starts a watch and waits until the server has accepted it: a
// request the server rejects (bad options, not ready, too old RV before
// the stream started) is Watch's error, as with the in-process
// api.Storage. ctx bounds the whole stream; Close ends it early.
func (c *Client) Watch(ctx context.Context, in *pb.WatchRequest, opts ...grpc.CallOption) (*WatchStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.rpc.Watch(ctx, in, opts...)
	if err != nil {
		cancel()
		return nil, FromStatus(err)
	}
	w := &WatchStream{stream: stream, cancel: cancel}
	md, err := stream.Header()
	if err != nil {
		cancel()
		return nil, FromStatus(err)
	}
	if len(md.Get(watchStartedHeader)) == 0 {
		// No headers: the stream ended before the watch started (its
		// status is the rejection), or the server sends none.
		ev, err := stream.Recv()
		if err != nil {
			cancel()
			if errors.Is(err, io.EOF) {
				return w.closed(io.EOF), nil
			}
			return nil, FromStatus(err)
		}
		w.pending = ev
	}
	return w, nil
}

// Header is the response header metadata of the stream.
func (w *WatchStream) Header() (metadata.MD, error) { return w.stream.Header() }

// Next blocks until the next event. It returns io.EOF when the stream
// ended cleanly (its deadline, the server's end, Close) and otherwise an
// error from FromStatus (e.g. wrapping api.ErrExpired when the watcher fell
// behind the cache's history, B43). After an error, Next returns the same
// error again.
func (w *WatchStream) Next() (*Event, error) {
	if w.err != nil {
		return nil, w.err
	}
	ev := w.pending
	w.pending = nil
	if ev == nil {
		var err error
		if ev, err = w.stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) || w.closing.Load() {
				w.closed(io.EOF)
			} else {
				w.closed(FromStatus(err))
			}
			return nil, w.err
		}
	}
	return apiEvent(ev), nil
}

// Close ends the stream and frees it. It is idempotent.
func (w *WatchStream) Close() {
	w.closing.Store(true)
	w.cancel()
}

func (w *WatchStream) closed(err error) *WatchStream {
	w.err = err
	w.cancel()
	return w
}

// eventTypes maps the proto's event types to the api's.
var eventTypes = map[pb.EventType]api.EventType{
	pb.EventType_EVENT_TYPE_ADDED:    api.Added,
	pb.EventType_EVENT_TYPE_MODIFIED: api.Modified,
	pb.EventType_EVENT_TYPE_DELETED:  api.Deleted,
	pb.EventType_EVENT_TYPE_BOOKMARK: api.Bookmark,
}

func apiEvent(ev *pb.WatchEvent) *Event {
	out := &Event{Type: eventTypes[ev.GetType()], ResourceVersion: ev.GetResourceVersion(), InitialEventsEnd: ev.GetInitialEventsEnd()}
	if out.Type != api.Bookmark {
		out.Object = ev.GetObject()
	}
	return out
}
