package server

import (
	"context"
	"net/http"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// Writes pass through to the storage (B50-B53), bounded by the one
// request-timeout rule as over HTTP (B63). The frontend checks only the
// request (resource, namespace, name) and the body's size; the body itself
// (a JSON object whose kind, apiVersion, namespace and name agree with the
// request) is the storage's to check, for HTTP and gRPC alike, and the
// storage names the offending field in the error (Error.Field, gRPC
// BadRequest details).

// Create stores a new object (B50).
func (g *grpcService) Create(ctx context.Context, in *pb.CreateRequest) (*pb.Object, error) {
	return g.write(ctx, in.GetResource(), in.GetNamespace(), "", verbCreate, in.GetJson())
}

// Update replaces an object (B51).
func (g *grpcService) Update(ctx context.Context, in *pb.UpdateRequest) (*pb.Object, error) {
	return g.write(ctx, in.GetResource(), in.GetNamespace(), in.GetName(), verbUpdate, in.GetJson())
}

// Patch applies a JSON merge patch (B53): the proto's PatchRequest
// carries only merge_patch, so gRPC has no other patch type.
func (g *grpcService) Patch(ctx context.Context, in *pb.PatchRequest) (*pb.Object, error) {
	return g.write(ctx, in.GetResource(), in.GetNamespace(), in.GetName(), verbPatch, in.GetMergePatch())
}

// write resolves the request, bounds the body's size and runs the write.
func (g *grpcService) write(ctx context.Context, res *pb.Resource, namespace, name, verb string, body []byte) (*pb.Object, error) {
	req, err := g.objectRequest(res, namespace, name, verb)
	if err != nil {
		return nil, g.fail(err, req)
	}
	if err := g.s.grpcWriteRefusal(req); err != nil {
		return nil, g.fail(err, req)
	}
	if err := g.checkSize(body); err != nil {
		return nil, err
	}
	ctx, err = grpcWriteContext(ctx, verb)
	if err != nil {
		return nil, g.fail(err, req)
	}
	obj, err := req.write(ctx, body, api.MergePatch, 0)
	if err != nil {
		return nil, g.fail(err, req)
	}
	return pbObject(obj), nil
}

// Delete removes an object, checking the preconditions that are set (B52).
func (g *grpcService) Delete(ctx context.Context, in *pb.DeleteRequest) (*pb.Object, error) {
	req, err := g.objectRequest(in.GetResource(), in.GetNamespace(), in.GetName(), verbDelete)
	if err != nil {
		return nil, g.fail(err, req)
	}
	if err := g.s.grpcWriteRefusal(req); err != nil {
		return nil, g.fail(err, req)
	}
	ctx, err = grpcWriteContext(ctx, verbDelete)
	if err != nil {
		return nil, g.fail(err, req)
	}
	pre := api.Preconditions{UID: in.PreconditionUid, ResourceVersion: in.PreconditionResourceVersion}
	obj, err := req.delete(ctx, pre, 0)
	if err != nil {
		return nil, g.fail(err, req)
	}
	return pbObject(obj), nil
}

// checkSize answers RESOURCE_EXHAUSTED for a body over MaxBodyBytes (413
// over HTTP).
func (g *grpcService) checkSize(body []byte) error {
	if int64(len(body)) <= g.s.cfg.MaxBodyBytes {
		return nil
	}
	st := grpcstatus.New(codes.ResourceExhausted, tooLargeMessage(g.s.cfg.MaxBodyBytes))
	return withDetails(st, []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: string(metav1.StatusReasonRequestEntityTooLarge),
		Domain: GRPCErrorDomain, Metadata: map[string]string{GRPCMetaCode: strconv.Itoa(http.StatusRequestEntityTooLarge)}}}).Err()
}
