package server

import (
	"context"
	"fmt"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/watchcached/watchcached/api"
	pb "github.com/watchcached/watchcached/api/watchcachedpb"
)

// Writes pass through to the storage (B50-B53), bounded by
// DefaultRequestTimeout as over HTTP (B63). The frontend checks only
// the request (resource, namespace, name) and the body's size; the body
// itself (a JSON object whose kind, apiVersion, namespace and name agree
// with the request) is the storage's to check, which names the offending
// field in the error (Error.Field, gRPC BadRequest details). The HTTP
// frontend checks some of this before the storage, wording it as
// kube-apiserver does, so a few messages differ between the two.

// Create stores a new object (B50).
func (g *grpcService) Create(ctx context.Context, in *pb.CreateRequest) (*pb.Object, error) {
	return g.write(ctx, in.GetResource(), in.GetNamespace(), "", verbCreate, in.GetJson(),
		func(ctx context.Context, req *request, body []byte) (*api.Object, error) {
			return req.entry.storage.Create(ctx, req.namespace, body)
		})
}

// Update replaces an object (B51).
func (g *grpcService) Update(ctx context.Context, in *pb.UpdateRequest) (*pb.Object, error) {
	return g.write(ctx, in.GetResource(), in.GetNamespace(), in.GetName(), verbUpdate, in.GetJson(),
		func(ctx context.Context, req *request, body []byte) (*api.Object, error) {
			return req.entry.storage.Update(ctx, req.namespace, req.name, body)
		})
}

// Patch applies a JSON merge patch (B53).
func (g *grpcService) Patch(ctx context.Context, in *pb.PatchRequest) (*pb.Object, error) {
	return g.write(ctx, in.GetResource(), in.GetNamespace(), in.GetName(), verbPatch, in.GetMergePatch(),
		func(ctx context.Context, req *request, body []byte) (*api.Object, error) {
			return req.entry.storage.Patch(ctx, req.namespace, req.name, body)
		})
}

// write resolves the request, bounds the body's size and runs do under the
// request timeout.
func (g *grpcService) write(ctx context.Context, res *pb.Resource, namespace, name, verb string, body []byte,
	do func(context.Context, *request, []byte) (*api.Object, error)) (*pb.Object, error) {
	req, err := g.objectRequest(res, namespace, name, verb)
	if err != nil {
		return nil, g.fail(err, req)
	}
	if err := g.checkSize(body); err != nil {
		return nil, err
	}
	ctx, cancel, _ := timeoutContext(ctx, 0)
	defer cancel()
	obj, err := do(ctx, req, body)
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
	pre := api.Preconditions{UID: in.PreconditionUid, ResourceVersion: in.PreconditionResourceVersion}
	ctx, cancel, _ := timeoutContext(ctx, 0)
	defer cancel()
	obj, err := req.entry.storage.Delete(ctx, req.namespace, req.name, pre)
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
	st := grpcstatus.New(codes.ResourceExhausted, fmt.Sprintf("Request entity too large: limit is %d", g.s.cfg.MaxBodyBytes))
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: "RequestEntityTooLarge", Domain: GRPCErrorDomain,
		Metadata: map[string]string{GRPCMetaCode: strconv.Itoa(413)}}); err == nil {
		st = d
	}
	return st.Err()
}
