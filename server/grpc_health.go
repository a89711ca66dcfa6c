package server

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	grpcstatus "google.golang.org/grpc/status"

	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// grpcHealth is the standard gRPC health service over the checks of
// /readyz: SERVING when every one passes (etcd reachable, every cache ready
// and not lagging), NOT_SERVING otherwise and after CloseWatches. It knows the services "" (the whole server) and
// "watchcached.v1.WatchCache", which have the same status. It computes
// the status on demand and holds no state, so it is safe for concurrent
// use and starts no goroutine; a Watch re-checks every healthPoll while
// it is open.
type grpcHealth struct {
	healthpb.UnimplementedHealthServer
	s *Server
}

var _ healthpb.HealthServer = (*grpcHealth)(nil)

// healthPoll is how often a health Watch stream re-checks readiness.
const healthPoll = 250 * time.Millisecond

func (h *grpcHealth) known(service string) bool {
	return service == "" || service == pb.WatchCache_ServiceDesc.ServiceName
}

func (h *grpcHealth) current(ctx context.Context) healthpb.HealthCheckResponse_ServingStatus {
	if h.s.stopCtx.Err() != nil || !h.s.ready(ctx) {
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	return healthpb.HealthCheckResponse_SERVING
}

// Check answers the current status; NOT_FOUND for an unknown service.
func (h *grpcHealth) Check(ctx context.Context, in *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if !h.known(in.GetService()) {
		return nil, grpcstatus.Errorf(codes.NotFound, "unknown service %q", in.GetService())
	}
	return &healthpb.HealthCheckResponse{Status: h.current(ctx)}, nil
}

// List answers the status of every known service.
func (h *grpcHealth) List(ctx context.Context, _ *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	st := &healthpb.HealthCheckResponse{Status: h.current(ctx)}
	return &healthpb.HealthListResponse{Statuses: map[string]*healthpb.HealthCheckResponse{
		"": st, pb.WatchCache_ServiceDesc.ServiceName: st,
	}}, nil
}

// Watch sends the status now and whenever it changes, until the client
// goes away or CloseWatches (after sending NOT_SERVING).
func (h *grpcHealth) Watch(in *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	if !h.known(in.GetService()) {
		return stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVICE_UNKNOWN})
	}
	tick := time.NewTicker(healthPoll)
	defer tick.Stop()
	last := healthpb.HealthCheckResponse_UNKNOWN
	for {
		if cur := h.current(stream.Context()); cur != last {
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: cur}); err != nil {
				return err
			}
			last = cur
		}
		if h.s.stopCtx.Err() != nil {
			return nil
		}
		select {
		case <-stream.Context().Done():
			return nil
		case <-h.s.stopCtx.Done():
		case <-tick.C:
		}
	}
}
