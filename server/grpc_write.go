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

// Writes pass through to the storage (B50-B53) after the same checks as
// over HTTP: the body's size, that it is a JSON object, and that its kind,
// apiVersion, namespace and name agree with the request.

// Create stores a new object (B50).
func (g *grpcService) Create(ctx context.Context, in *pb.CreateRequest) (*pb.Object, error) {
	req, err := g.objectRequest(in.GetResource(), in.GetNamespace(), "", verbCreate)
	if err != nil {
		return nil, g.fail(err, req)
	}
	if err := g.checkBody(in.GetJson(), req, true); err != nil {
		return nil, err
	}
	obj, err := req.entry.storage.Create(ctx, req.namespace, in.GetJson())
	if err != nil {
		return nil, g.fail(err, req)
	}
	return pbObject(obj), nil
}

// Update replaces an object (B51).
func (g *grpcService) Update(ctx context.Context, in *pb.UpdateRequest) (*pb.Object, error) {
	req, err := g.objectRequest(in.GetResource(), in.GetNamespace(), in.GetName(), verbUpdate)
	if err != nil {
		return nil, g.fail(err, req)
	}
	if err := g.checkBody(in.GetJson(), req, true); err != nil {
		return nil, err
	}
	obj, err := req.entry.storage.Update(ctx, req.namespace, req.name, in.GetJson())
	if err != nil {
		return nil, g.fail(err, req)
	}
	return pbObject(obj), nil
}

// Patch applies a JSON merge patch (B53).
func (g *grpcService) Patch(ctx context.Context, in *pb.PatchRequest) (*pb.Object, error) {
	req, err := g.objectRequest(in.GetResource(), in.GetNamespace(), in.GetName(), verbPatch)
	if err != nil {
		return nil, g.fail(err, req)
	}
	if err := g.checkBody(in.GetMergePatch(), req, false); err != nil {
		return nil, err
	}
	obj, err := req.entry.storage.Patch(ctx, req.namespace, req.name, in.GetMergePatch())
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
	obj, err := req.entry.storage.Delete(ctx, req.namespace, req.name, pre)
	if err != nil {
		return nil, g.fail(err, req)
	}
	return pbObject(obj), nil
}

// checkBody answers RESOURCE_EXHAUSTED for a body over MaxBodyBytes (413
// over HTTP) and checks an object body against the request (a merge patch
// is the storage's to check, as over HTTP).
func (g *grpcService) checkBody(body []byte, req *request, object bool) error {
	if int64(len(body)) > g.s.cfg.MaxBodyBytes {
		st := grpcstatus.New(codes.ResourceExhausted, fmt.Sprintf("Request entity too large: limit is %d", g.s.cfg.MaxBodyBytes))
		if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: "RequestEntityTooLarge", Domain: GRPCErrorDomain,
			Metadata: map[string]string{GRPCMetaCode: strconv.Itoa(413)}}); err == nil {
			st = d
		}
		return st.Err()
	}
	if object {
		if err := checkObject(body, req); err != nil {
			return g.fail(err, req)
		}
	}
	return nil
}
