package server

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Panic containment (B90). A panic in a handler never crashes the process:
// the HTTP frontend (recoverPanic) and the gRPC interceptors answer the
// request with kube-apiserver's 500 InternalError (gRPC INTERNAL whose
// ErrorInfo reason is InternalError), and a watch stream that already
// started ends with one ERROR event (or status) carrying the same. Each
// panic is logged once, with its stack, and counted in
// watchcached_panics_total{frontend}.

// errPanicked is the error a watch stream ends with when its pump panicked.
var errPanicked = errors.New("panic serving the request")

// recovered records the recovered panic v of frontend ("http", "grpc"):
// one log line with the stack, and the counter. Call it from the deferred
// function that recovered, so the stack still shows the panic.
func (s *Server) recovered(frontend string, v any, attrs ...any) {
	s.metrics.panics.WithLabelValues(frontend).Inc()
	attrs = append(attrs, "frontend", frontend, "panic", v, "stack", string(debug.Stack()))
	s.log.Error("panic serving request", attrs...)
}

// recoverPanic turns a panic of an HTTP handler into a 500 Status (the
// watch stream recovers its own once started, see pumpRecovered).
// http.ErrAbortHandler is passed on: it is net/http's way to abort.
func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.recovered("http", v, "method", r.Method, "path", r.URL.Path)
	writeStatus(w, internalErrorStatus())
}

// pumpRecovered is pump, ending the stream with sink.fail(errPanicked)
// when it panics: the client has the stream's header already, so the
// frontend's own recovery could no longer answer with a Status.
func (s *Server) pumpRecovered(frontend string, pumpFn func() error, sink eventSink) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.recovered(frontend, v, "stream", "watch")
			err = sink.fail(errPanicked)
		}
	}()
	return pumpFn()
}

// panicGRPCStatus is the gRPC answer to a panic: INTERNAL with the message
// of any internal error and an ErrorInfo of reason InternalError, code 500.
func panicGRPCStatus() *grpcstatus.Status {
	st := grpcstatus.New(codes.Internal, msgInternal)
	return withDetails(st, []protoadapt.MessageV1{&errdetails.ErrorInfo{
		Reason:   string(metav1.StatusReasonInternalError),
		Domain:   GRPCErrorDomain,
		Metadata: map[string]string{GRPCMetaCode: strconv.Itoa(http.StatusInternalServerError)},
	}})
}

// unaryRecover is the gRPC unary interceptor of panic containment.
func (s *Server) unaryRecover(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.recovered("grpc", v, "method", info.FullMethod)
			resp, err = nil, panicGRPCStatus().Err()
		}
	}()
	return handler(ctx, req)
}

// streamRecover is the gRPC stream interceptor of panic containment.
func (s *Server) streamRecover(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.recovered("grpc", v, "method", info.FullMethod)
			err = panicGRPCStatus().Err()
		}
	}()
	return handler(srv, ss)
}
