package test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/client"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/server"
)

// serveGRPC serves st over gRPC on a real loopback listener and returns
// the address; everything stops at the end of the test.
func serveGRPC(t *testing.T, reg *prometheus.Registry, st api.Storage) string {
	t.Helper()
	// The stall tests measure what bounds a stalled stream (flow control,
	// the ring overtaking it: B43), not the slow-client timeout (B130),
	// which a run slowed down by the race detector could reach first.
	srv, err := server.New(server.Config{Storages: []api.Storage{st}, Registerer: reg, Logger: quiet, SlowClientTimeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	gs, err := srv.NewGRPCServer()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.CloseWatches()
		gs.Stop()
		<-done
	})
	return ln.Addr().String()
}

// dial connects a client to addr, closed at the end of the test.
func dial(t *testing.T, addr string, opts ...grpc.DialOption) *client.Client {
	t.Helper()
	c, err := client.Dial(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// grpcStorage is an api.Storage that makes every call over gRPC through
// api/client, so the conformance suite can hold the gRPC frontend to the
// same expectations as the storages themselves. Objects are rebuilt from
// their JSON with the resource's own codec (an etcdstore.Store used only
// for Decode), as a Go client of the API would decode them. Safe for
// concurrent use.
type grpcStorage struct {
	c     *client.Client
	res   *api.Resource
	ref   *pb.Resource
	codec *etcdstore.Store
}

var _ api.Storage = (*grpcStorage)(nil)

func newGRPCStorage(c *client.Client, codec *etcdstore.Store) *grpcStorage {
	res := codec.Resource()
	return &grpcStorage{c: c, res: res, codec: codec,
		ref: &pb.Resource{Group: res.Group, Version: res.Version, Resource: res.Resource}}
}

func (g *grpcStorage) Resource() *api.Resource { return g.res }

// decode rebuilds the api.Object a served JSON object shows at rv.
func (g *grpcStorage) decode(raw []byte, rv uint64) (*api.Object, error) {
	var h struct {
		Metadata struct{ Name, Namespace string } `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, err
	}
	return g.codec.Decode(g.res.Key("/registry", h.Metadata.Namespace, h.Metadata.Name), raw, int64(rv))
}

func (g *grpcStorage) object(o *pb.Object, err error) (*api.Object, error) {
	if err != nil {
		return nil, err
	}
	return g.decode(o.GetJson(), o.GetResourceVersion())
}

func (g *grpcStorage) Get(ctx context.Context, ns, name string, opts api.GetOptions) (*api.Object, error) {
	return g.object(g.c.Get(ctx, &pb.GetRequest{Resource: g.ref, Namespace: ns, Name: name, ResourceVersion: opts.ResourceVersion}))
}

func (g *grpcStorage) List(ctx context.Context, opts api.ListOptions) (*api.List, error) {
	in := &pb.ListRequest{Resource: g.ref, Namespace: opts.Namespace, ResourceVersion: opts.ResourceVersion,
		ResourceVersionMatch: opts.ResourceVersionMatch, Limit: opts.Limit, Continue: opts.Continue,
		SendInitialEvents: opts.SendInitialEvents}
	in.LabelSelector, in.FieldSelector = selectors(opts.Predicate)
	resp, err := g.c.List(ctx, in)
	if err != nil {
		return nil, err
	}
	l := &api.List{RV: resp.ResourceVersion, Continue: resp.Continue, RemainingItemCount: resp.RemainingItemCount,
		Items: make([]*api.Object, 0, len(resp.Items))}
	for _, raw := range resp.Items {
		var h struct {
			Metadata struct{ ResourceVersion string } `json:"metadata"`
		}
		if err := json.Unmarshal(raw, &h); err != nil {
			return nil, err
		}
		rv, err := api.ParseRV("resourceVersion", h.Metadata.ResourceVersion)
		if err != nil {
			return nil, err
		}
		o, err := g.decode(raw, rv)
		if err != nil {
			return nil, err
		}
		l.Items = append(l.Items, o)
	}
	return l, nil
}

// selectors renders a predicate back into the request's selector strings.
func selectors(p api.Predicate) (label, field string) {
	if p.Label != nil {
		label = p.Label.String()
	}
	if p.Field != nil {
		field = p.Field.String()
	}
	return label, field
}

func (g *grpcStorage) Watch(ctx context.Context, opts api.WatchOptions) (api.Watcher, error) {
	in := &pb.WatchRequest{Resource: g.ref, Namespace: opts.Namespace, ResourceVersion: opts.ResourceVersion,
		ResourceVersionMatch: opts.ResourceVersionMatch, SendInitialEvents: opts.SendInitialEvents,
		AllowWatchBookmarks: opts.AllowWatchBookmarks}
	in.LabelSelector, in.FieldSelector = selectors(opts.Predicate)
	// ctx bounds only the start (api.Storage); the stream lives until Close.
	streamCtx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	ws, err := g.c.Watch(streamCtx, in)
	stop()
	if err != nil {
		cancel()
		return nil, err
	}
	w := &grpcWatcher{g: g, ws: ws, cancel: cancel, results: make(chan watchResult), done: make(chan struct{})}
	w.wg.Add(1)
	go w.pump()
	return w, nil
}

func (g *grpcStorage) Create(ctx context.Context, ns string, body []byte) (*api.Object, error) {
	return g.object(g.c.Create(ctx, &pb.CreateRequest{Resource: g.ref, Namespace: ns, Json: body}))
}

func (g *grpcStorage) Update(ctx context.Context, ns, name string, body []byte) (*api.Object, error) {
	return g.object(g.c.Update(ctx, &pb.UpdateRequest{Resource: g.ref, Namespace: ns, Name: name, Json: body}))
}

// Patch sends a merge patch, the only patch type of the gRPC API.
func (g *grpcStorage) Patch(ctx context.Context, ns, name string, patch api.Patch) (*api.Object, error) {
	if patch.Type != api.MergePatch {
		return nil, api.UnsupportedPatch([]api.PatchType{api.MergePatch})
	}
	return g.object(g.c.Patch(ctx, &pb.PatchRequest{Resource: g.ref, Namespace: ns, Name: name, MergePatch: patch.Data}))
}

func (g *grpcStorage) Delete(ctx context.Context, ns, name string, pre api.Preconditions) (*api.Object, error) {
	return g.object(g.c.Delete(ctx, &pb.DeleteRequest{Resource: g.ref, Namespace: ns, Name: name,
		PreconditionUid: pre.UID, PreconditionResourceVersion: pre.ResourceVersion}))
}

// grpcWatcher adapts a client.WatchStream (whose Next takes no context)
// to api.Watcher: a pump goroutine reads the stream and hands over one
// event at a time on an unbuffered channel, so it reads ahead by at most
// one event and flow control still reaches the server.
type grpcWatcher struct {
	g       *grpcStorage
	ws      *client.WatchStream
	cancel  context.CancelFunc
	results chan watchResult
	done    chan struct{} // closed by Close
	once    sync.Once
	wg      sync.WaitGroup
	ended   error // owned by the reader: the error that ended the stream
}

type watchResult struct {
	ev  *client.Event
	err error
}

func (w *grpcWatcher) pump() {
	defer w.wg.Done()
	for {
		ev, err := w.ws.Next()
		select {
		case w.results <- watchResult{ev, err}:
		case <-w.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (w *grpcWatcher) Next(ctx context.Context) (api.WatchEvent, error) {
	if w.ended != nil {
		return api.WatchEvent{}, io.EOF
	}
	select {
	case <-w.done:
		return api.WatchEvent{}, io.EOF
	default:
	}
	select {
	case r := <-w.results:
		if r.err != nil {
			w.ended = r.err
			return api.WatchEvent{}, r.err
		}
		return w.event(r.ev)
	case <-ctx.Done():
		return api.WatchEvent{}, ctx.Err()
	case <-w.done:
		return api.WatchEvent{}, io.EOF
	}
}

func (w *grpcWatcher) event(ev *client.Event) (api.WatchEvent, error) {
	out := api.WatchEvent{Type: ev.Type, RV: ev.ResourceVersion, InitialEventsEnd: ev.InitialEventsEnd}
	if ev.Type == api.Bookmark {
		return out, nil
	}
	o, err := w.g.decode(ev.Object, ev.ResourceVersion)
	if err != nil {
		return api.WatchEvent{}, errors.Join(api.ErrBadRequest, err)
	}
	out.Object = o
	return out, nil
}

func (w *grpcWatcher) Close() {
	w.once.Do(func() {
		close(w.done)
		w.ws.Close()
		w.wg.Wait()
		w.cancel()
	})
}
