package client

import (
	"context"
	"errors"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/watchcached/watchcached/api"
)

// errorDomain is the ErrorInfo domain of watchcached's errors (the
// server's GRPCErrorDomain; this package does not import the server).
const errorDomain = "watchcached.io"

// sentinels maps a gRPC code and the Kubernetes reason of the status's
// ErrorInfo to the api sentinel: the inverse of the server's one table
// (server/status.go), whose test checks that every row round-trips.
var sentinels = map[codes.Code]map[string]error{
	codes.NotFound:      {"NotFound": api.ErrNotFound},
	codes.AlreadyExists: {"AlreadyExists": api.ErrAlreadyExists},
	codes.Aborted:       {"Conflict": api.ErrConflict},
	codes.OutOfRange:    {"Expired": api.ErrExpired},
	codes.InvalidArgument: {
		"Invalid": api.ErrInvalid, "BadRequest": api.ErrBadRequest,
		"UnsupportedMediaType": api.ErrUnsupportedMediaType,
	},
	codes.ResourceExhausted: {"RequestEntityTooLarge": api.ErrTooLarge},
	codes.DeadlineExceeded:  {"Timeout": api.ErrTimeout},
	codes.Internal:          {"InternalError": api.ErrCorrupt},
	codes.Unauthenticated:   {"Unauthorized": api.ErrUnauthorized},
	codes.PermissionDenied:  {"Forbidden": api.ErrForbidden},
	codes.Unknown:           {"": api.ErrInternal},
	codes.Unimplemented:     {"MethodNotAllowed": api.ErrMethodNotAllowed},
	codes.Unavailable: {
		"Timeout":            api.ErrTooLargeRV,
		"TooManyRequests":    api.ErrNotReady,
		"ServiceUnavailable": api.ErrUnavailable,
	},
}

// FromStatus turns the error of a call into what the same failure is
// in-process: an *api.Error wrapping the sentinel its code and reason
// name, with the message, field, cause, retry delay and replacement
// continue token from the status details. A CANCELED or DEADLINE_EXCEEDED
// status without watchcached details (the caller's own context) becomes
// context.Canceled or context.DeadlineExceeded; any other error is
// returned as it is (status.FromError still works on it). nil stays nil.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	info := errorInfo(st)
	if info == nil {
		switch st.Code() {
		case codes.Canceled:
			return context.Canceled
		case codes.DeadlineExceeded:
			return context.DeadlineExceeded
		}
		return err
	}
	sentinel := sentinels[st.Code()][info.GetReason()]
	if sentinel == nil {
		return err
	}
	md := info.GetMetadata()
	e := &api.Error{
		Err:      sentinel,
		Message:  st.Message(),
		Field:    md["field"],
		Cause:    md["cause"],
		Continue: md["continue"],
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			e.RetryAfterSeconds = int(ri.GetRetryDelay().AsDuration().Seconds())
		}
	}
	return e
}

// HTTPCode is the HTTP status code the same error has over HTTP (from the
// ErrorInfo's "code"), or 0 when err carries no watchcached details.
func HTTPCode(err error) int {
	var grpcErr interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &grpcErr) {
		return 0
	}
	info := errorInfo(grpcErr.GRPCStatus())
	if info == nil {
		return 0
	}
	n, _ := strconv.Atoi(info.GetMetadata()["code"])
	return n
}

func errorInfo(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain {
			return info
		}
	}
	return nil
}
