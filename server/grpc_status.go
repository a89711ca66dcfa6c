package server

import (
	"errors"
	"log/slog"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/watchcached/watchcached/api"
)

// GRPCErrorDomain is the domain of the errdetails.ErrorInfo that every
// gRPC error of watchcached carries.
const GRPCErrorDomain = "watchcached.io"

// The ErrorInfo metadata keys. "code" is the HTTP status code the same
// error has over HTTP; the others are present when they have a value.
const (
	GRPCMetaCode     = "code"     // e.g. "410"
	GRPCMetaField    = "field"    // the offending field or parameter
	GRPCMetaCause    = "cause"    // e.g. "ResourceVersionTooLarge"
	GRPCMetaContinue = "continue" // the replacement continue token of an expired one (B23)
	GRPCMetaResource = "resource" // e.g. "pods" or "deployments.apps"
	GRPCMetaName     = "name"     // the object's name, for object-level errors
)

// grpcStatus builds the gRPC status for err from the one statusTable: the
// row's gRPC code, err's message (worded as kube-apiserver words it), and
// details: an ErrorInfo whose Reason is the Kubernetes reason, a RetryInfo
// when the client should wait (not ready, too large RV), and a BadRequest
// naming the field of an invalid request. An error that wraps no api
// sentinel is logged and answered INTERNAL with a generic message.
func grpcStatus(log *slog.Logger, err error, res *api.Resource, name string) *grpcstatus.Status {
	if err == errWatchesClosed {
		return grpcstatus.New(codes.Unavailable, err.Error())
	}
	if err == errPanicked { // logged with its stack when recovered
		return panicGRPCStatus()
	}
	rule, ok := findRule(err)
	if !ok {
		log.Error("internal error", "err", err)
		return grpcstatus.New(codes.Internal, msgInternal)
	}
	e := api.AsError(err)
	if e == nil {
		e = &api.Error{Err: rule.sentinel, Message: err.Error()}
	}
	md := map[string]string{GRPCMetaCode: strconv.Itoa(rule.code)}
	put := func(k, v string) {
		if v != "" {
			md[k] = v
		}
	}
	put(GRPCMetaField, e.Field)
	put(GRPCMetaCause, e.Cause)
	if errors.Is(err, api.ErrTooLargeRV) {
		put(GRPCMetaCause, string(causeResourceVersionTooLarge))
	}
	put(GRPCMetaContinue, e.Continue)
	if res != nil && rule.grpc != codes.InvalidArgument {
		put(GRPCMetaResource, res.GroupResource())
		put(GRPCMetaName, name)
	}
	st := grpcstatus.New(rule.grpc, err.Error())
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: string(rule.reason), Domain: GRPCErrorDomain, Metadata: md}}
	if s := retryAfterSeconds(rule, e); s > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(s) * time.Second)})
	}
	if e.Field != "" && rule.grpc == codes.InvalidArgument {
		details = append(details, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: e.Field, Description: e.Message},
		}})
	}
	return withDetails(st, details)
}

// withDetails attaches details to st; st itself if they do not marshal
// (they always do: they are plain generated messages).
func withDetails(st *grpcstatus.Status, details []protoadapt.MessageV1) *grpcstatus.Status {
	if withD, err := st.WithDetails(details...); err == nil {
		return withD
	}
	return st
}

// grpcError is grpcStatus as an error, for returning from a handler.
func grpcError(log *slog.Logger, err error, res *api.Resource, name string) error {
	return grpcStatus(log, err, res, name).Err()
}
