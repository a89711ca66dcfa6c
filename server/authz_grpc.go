package server

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// watchCacheService prefixes the full method names of watchcached.v1.WatchCache.
const watchCacheService = "/" + "watchcached.v1.WatchCache" + "/"

// grpcResourceRequest is what every watchcached.v1.WatchCache request
// message has; grpcNamedRequest what those about one object have too.
type (
	grpcResourceRequest interface {
		GetResource() *pb.Resource
		GetNamespace() string
	}
	grpcNamedRequest interface{ GetName() string }
)

// grpcAttributes are the attributes of a call with request message m:
// for watchcached.v1.WatchCache, the verb is the method's name in
// lowercase (Get is get, List list, Watch watch, DeleteCollection
// deletecollection) on the resource, namespace and name m names; any
// other method (health, reflection) is a non-resource get of its full
// method name.
func grpcAttributes(ctx context.Context, method string, m any) Attributes {
	u, _ := UserFrom(ctx)
	a := Attributes{User: u, Verb: rbacGet, Path: method}
	r, ok := m.(grpcResourceRequest)
	if !ok || !strings.HasPrefix(method, watchCacheService) {
		return a
	}
	res := r.GetResource()
	a.ResourceRequest, a.Path = true, ""
	a.Verb = strings.ToLower(strings.TrimPrefix(method, watchCacheService))
	a.APIGroup, a.APIVersion, a.Resource = res.GetGroup(), res.GetVersion(), res.GetResource()
	a.Namespace = r.GetNamespace()
	if n, ok := m.(grpcNamedRequest); ok && a.Verb != rbacCreate {
		a.Name = n.GetName()
	}
	return a
}

// authorizeGRPC authorizes a call; the error is PERMISSION_DENIED with
// reason Forbidden and the resource in its ErrorInfo, or INTERNAL when
// authorization could not be evaluated.
func (s *Server) authorizeGRPC(ctx context.Context, method string, m any) error {
	a := grpcAttributes(ctx, method, m)
	err := s.authorize(ctx, a)
	if err == nil {
		return nil
	}
	var failed *authorizationError
	if errors.As(err, &failed) {
		return grpcstatus.Errorf(codes.Internal, "Internal Server Error: %q: %v", method, failed.err)
	}
	var res *api.Resource
	if a.ResourceRequest {
		res = &api.Resource{Group: a.APIGroup, Resource: a.Resource}
	}
	return grpcError(s.log, err, res, a.Name)
}

// unaryAuthz authorizes a unary call after authentication.
func (s *Server) unaryAuthz(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if s.cfg.Authorizer != nil {
		if err := s.authorizeGRPC(ctx, info.FullMethod, req); err != nil {
			return nil, err
		}
	}
	return handler(ctx, req)
}

// streamAuthz authorizes a streaming call after authentication, when the
// handler receives its (first) request message.
func (s *Server) streamAuthz(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if s.cfg.Authorizer == nil {
		return handler(srv, ss)
	}
	return handler(srv, &authzStream{ServerStream: ss, s: s, method: info.FullMethod})
}

// authzStream authorizes each request message a stream receives. Used by
// the stream's handler goroutine only.
type authzStream struct {
	grpc.ServerStream
	s      *Server
	method string
}

func (a *authzStream) RecvMsg(m any) error {
	if err := a.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return a.s.authorizeGRPC(a.Context(), a.method, m)
}
