package server

import (
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// grpcService is the gRPC frontend: watchcached.v1.WatchCache over the
// same storages, option parsing and error table as the HTTP frontend, so
// that both answer every request alike (docs/grpc.md). It holds no state
// of its own besides metrics and is safe for concurrent use.
//
// Each Watch stream is served by its handler goroutine, which pulls
// events from the watcher and Sends them. Send blocks when the stream's
// HTTP/2 flow-control window and gRPC's per-stream write quota are used
// up, so a client that stops reading holds the server back by a bounded
// number of bytes; meanwhile its watcher keeps its place in the cache's
// ring and, when the ring has overwritten what it still needs, the stream
// ends OUT_OF_RANGE/Expired (B43) once the client reads again.
type grpcService struct {
	pb.UnimplementedWatchCacheServer
	s       *Server
	metrics *grpcMetrics
}

var _ pb.WatchCacheServer = (*grpcService)(nil)

// grpcMsgSlack is what a request may carry beyond MaxBodyBytes of JSON
// (resource names, options, framing).
const grpcMsgSlack = 64 << 10

// Keepalive of gRPC connections: clients may ping every 5 s at most, also
// without a stream (more often is a GOAWAY, as grpc-go does); a
// connection without an RPC for grpcMaxConnectionIdle is closed, and one
// whose peer does not answer the server's ping (sent after
// grpcKeepaliveTime of silence) within grpcKeepaliveTimeout is dropped.
const (
	grpcMaxConnectionIdle = 90 * time.Second
	grpcKeepaliveTime     = time.Minute
	grpcKeepaliveTimeout  = 20 * time.Second
)

// Connection limits (B202). A connection carries at most
// Config.GRPCMaxConcurrentStreams streams (a client's further streams wait
// for a free one, as HTTP/2 has them); grpc-go queues at most
// grpcWriteQuota unsent bytes per stream, so what a connection can pin on
// the send side is bounded by streams x grpcWriteQuota (about twice that in
// memory, for the pooled buffers the messages sit in), whatever its
// client reads. The receive windows are fixed, which turns off grpc-go's
// bandwidth-delay probing (a ping per burst of data frames); the
// connection window bounds what a client's requests can queue here.
const (
	// DefaultGRPCMaxConcurrentStreams is the default of
	// Config.GRPCMaxConcurrentStreams.
	DefaultGRPCMaxConcurrentStreams = 1000
	// grpcWriteQuota is grpc-go's fixed bound on a stream's unsent bytes
	// (its defaultWriteQuota), for the docs' formula.
	grpcWriteQuota = 64 << 10
	// grpcStreamWindow and grpcConnWindow are how much a client may send
	// on a stream and on its connection before the server has read it:
	// request messages are small (a write's body is at most MaxBodyBytes).
	grpcStreamWindow = 256 << 10
	grpcConnWindow   = 1 << 20
	// grpcMaxHeaderListSize bounds a request's metadata, as net/http's
	// MaxHeaderBytes bounds HTTP's (grpc-go's default is 16 MiB).
	grpcMaxHeaderListSize = 1 << 20
)

// NewGRPCServer builds a gRPC server that serves watchcached.v1.WatchCache
// over s's storages, the standard health service (grpc.health.v1.Health:
// SERVING when every cache is ready, for the service "" and
// "watchcached.v1.WatchCache") and server reflection. opts are appended to
// the server's own (a maximum received message size of MaxBodyBytes plus a
// little). Calls are authenticated (authn.go) and authorized (authz.go) before
// they are admitted;
// give TLS credentials in opts for client certificates. It registers the
// gRPC metrics with the Server's Registerer, so call it once per Server. CloseWatches ends the gRPC watch and health
// streams too; then GracefulStop the returned server.
func (s *Server) NewGRPCServer(opts ...grpc.ServerOption) (*grpc.Server, error) {
	m, err := newGRPCMetrics(s.cfg.Registerer)
	if err != nil {
		return nil, err
	}
	codec, err := newGRPCCodec()
	if err != nil {
		return nil, err
	}
	all := append([]grpc.ServerOption{
		grpc.ForceServerCodecV2(codec),
		grpc.MaxRecvMsgSize(int(s.cfg.MaxBodyBytes) + grpcMsgSlack),
		grpc.MaxConcurrentStreams(s.cfg.GRPCMaxConcurrentStreams),
		grpc.MaxHeaderListSize(grpcMaxHeaderListSize),
		grpc.StaticStreamWindowSize(grpcStreamWindow),
		grpc.StaticConnWindowSize(grpcConnWindow),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: grpcMaxConnectionIdle,
			Time: grpcKeepaliveTime, Timeout: grpcKeepaliveTimeout}),
		grpc.ChainUnaryInterceptor(s.unaryRecover, s.unaryAuthn, s.unaryAuthz, s.unaryAdmit),
		grpc.ChainStreamInterceptor(s.streamRecover, s.streamAuthn, s.streamAuthz, s.streamAdmit),
	}, opts...)
	gs := grpc.NewServer(all...)
	pb.RegisterWatchCacheServer(gs, &grpcService{s: s, metrics: m})
	healthpb.RegisterHealthServer(gs, &grpcHealth{s: s})
	reflection.Register(gs)
	return gs, nil
}

// entry finds the served resource a request names. An unknown resource is
// NOT_FOUND, as an unknown path is 404 over HTTP.
func (g *grpcService) entry(r *pb.Resource) (*resourceEntry, error) {
	if r.GetVersion() == "" || r.GetResource() == "" {
		return nil, api.BadParam("resource", "resource: version and resource are required")
	}
	gv := groupVersion(r.GetGroup(), r.GetVersion())
	e := g.s.table().lookup(gv, r.GetResource())
	if e == nil {
		return nil, api.Errorf(api.ErrNotFound, "%s (%s %s)", msgNoSuchResource, gv, r.GetResource())
	}
	return e, nil
}

// objectRequest resolves the resource, namespace and name of a request
// about one object (a create names none), checked as the HTTP paths are.
func (g *grpcService) objectRequest(r *pb.Resource, namespace, name string, verb string) (*request, error) {
	e, err := g.scoped(r, namespace)
	if err != nil {
		return nil, err
	}
	if e.res.Namespaced && namespace == "" {
		return nil, api.BadParam("namespace", "namespace is required for the namespaced resource %s", e.res.GroupResource())
	}
	if verb == verbCreate {
		name = ""
	}
	return newRequest(e, verb, namespace, name, namespace != "", verb != verbCreate)
}

// collectionRequest resolves the resource and namespace of a request
// about a collection; namespace "" means all namespaces.
func (g *grpcService) collectionRequest(r *pb.Resource, namespace, verb string) (*request, error) {
	e, err := g.scoped(r, namespace)
	if err != nil {
		return nil, err
	}
	return newRequest(e, verb, namespace, "", namespace != "", false)
}

// scoped finds the resource of a request and refuses a namespace for a
// cluster-scoped one.
func (g *grpcService) scoped(r *pb.Resource, namespace string) (*resourceEntry, error) {
	e, err := g.entry(r)
	if err != nil {
		return nil, err
	}
	if namespace != "" && !e.res.Namespaced {
		return nil, api.BadParam("namespace", "the resource %s is not namespaced", e.res.GroupResource())
	}
	return e, nil
}

// fail turns err into the gRPC error of req (req may be nil when the
// request did not name a served resource).
func (g *grpcService) fail(err error, req *request) error {
	if req == nil {
		return grpcError(g.s.log, err, nil, "")
	}
	return grpcError(g.s.log, err, req.entry.res, req.name)
}
