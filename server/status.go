package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/api/kubeproto"
)

// statusRule maps one api sentinel to the HTTP code and Status reason that
// kube-apiserver gives for the same condition, and to the gRPC code the
// gRPC frontend answers with (the reason travels in the gRPC status
// details, see grpc_status.go).
type statusRule struct {
	sentinel error
	code     int
	reason   metav1.StatusReason
	grpc     codes.Code
}

// statusTable is the one place where api errors become HTTP and gRPC
// answers. Order matters only for errors that wrap several sentinels: the
// first match wins. Each (gRPC code, reason) pair is unique, so a gRPC
// client can map a status back to its sentinel (api/client does).
var statusTable = []statusRule{
	{api.ErrNotFound, http.StatusNotFound, metav1.StatusReasonNotFound, codes.NotFound},
	{api.ErrAlreadyExists, http.StatusConflict, metav1.StatusReasonAlreadyExists, codes.AlreadyExists},
	{api.ErrConflict, http.StatusConflict, metav1.StatusReasonConflict, codes.Aborted},
	{api.ErrExpired, http.StatusGone, metav1.StatusReasonExpired, codes.OutOfRange},
	{api.ErrTooLargeRV, http.StatusGatewayTimeout, metav1.StatusReasonTimeout, codes.Unavailable},
	{api.ErrNotReady, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, codes.Unavailable},
	{api.ErrInvalid, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, codes.InvalidArgument},
	{api.ErrBadRequest, http.StatusBadRequest, metav1.StatusReasonBadRequest, codes.InvalidArgument},
	{api.ErrUnavailable, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, codes.Unavailable},
	{api.ErrTimeout, http.StatusGatewayTimeout, metav1.StatusReasonTimeout, codes.DeadlineExceeded},
	{api.ErrCorrupt, http.StatusInternalServerError, metav1.StatusReasonInternalError, codes.Internal},
	{api.ErrUnsupportedMediaType, http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType, codes.InvalidArgument},
	{api.ErrTooLarge, http.StatusRequestEntityTooLarge, metav1.StatusReasonRequestEntityTooLarge, codes.ResourceExhausted},
	{api.ErrUnauthorized, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, codes.Unauthenticated},
	{api.ErrForbidden, http.StatusForbidden, metav1.StatusReasonForbidden, codes.PermissionDenied},
	{api.ErrInternal, http.StatusInternalServerError, metav1.StatusReasonUnknown, codes.Unknown},
	{api.ErrMethodNotAllowed, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, codes.Unimplemented},
}

// causeResourceVersionTooLarge is the cause type client-go looks for to
// tell "too large resource version" from other timeouts.
const causeResourceVersionTooLarge = metav1.CauseTypeResourceVersionTooLarge

// errorStatus builds the Status for err. req, when known, fills in the
// details (resource, group, name) the way kube-apiserver names the object
// of a failed request. An error that wraps no api sentinel is an internal
// error: it is logged and answered with a generic message.
func errorStatus(log *slog.Logger, err error, req *request) *metav1.Status {
	if err == errWatchesClosed {
		return newStatus(http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, err.Error())
	}
	if err == errNotAcceptable {
		return newStatus(http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable, err.Error())
	}
	if err == errPanicked { // logged with its stack when recovered
		return internalErrorStatus()
	}
	rule, ok := findRule(err)
	if !ok {
		log.Error("internal error", "err", err)
		return internalErrorStatus()
	}
	e := api.AsError(err)
	st := &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  err.Error(),
		Reason:   rule.reason,
		Code:     int32(rule.code),
	}
	if e != nil {
		st.ListMeta.Continue = e.Continue
	}
	st.Details = statusDetails(rule, e, req)
	return st
}

func findRule(err error) (statusRule, bool) {
	for _, r := range statusTable {
		if errors.Is(err, r.sentinel) {
			return r, true
		}
	}
	return statusRule{}, false
}

// statusDetails fills Status.details: the object the request was about (for
// object-level errors), the field causes of Invalid, the cause of a too
// large RV or of an internal error, and the retry delay. Nil when there is
// nothing to say, as for a bad query parameter.
func statusDetails(rule statusRule, e *api.Error, req *request) *metav1.StatusDetails {
	d := &metav1.StatusDetails{}
	if req != nil && !namelessCode(rule.code) && (e == nil || !e.NoObject) {
		d.Name, d.Group, d.Kind = req.name, req.entry.res.Group, req.entry.res.Resource
	}
	if e != nil {
		switch {
		case rule.reason == metav1.StatusReasonInvalid && e.Field != "":
			d.Causes = []metav1.StatusCause{invalidCause(e)}
		case errors.Is(e, api.ErrTooLargeRV):
			d.Causes = []metav1.StatusCause{{Type: causeResourceVersionTooLarge, Message: "Too large resource version"}}
		case len(e.Causes) > 0:
			d.Causes = fieldCauses(e.Causes)
		case rule.code == http.StatusInternalServerError && rule.reason != metav1.StatusReasonUnknown:
			// kube-apiserver's InternalError repeats its cause, unprefixed.
			d.Causes = []metav1.StatusCause{{Message: strings.TrimPrefix(e.Message, internalErrorPrefix)}}
		}
		if e.Kind != "" {
			d.Name, d.Group, d.Kind = e.Name, e.Group, e.Kind
		}
		d.RetryAfterSeconds = int32(retryAfterSeconds(rule, e))
	}
	if rule.reason == metav1.StatusReasonForbidden {
		return d // kube-apiserver's Forbidden always has details, {} for a path
	}
	if d.Name == "" && d.Kind == "" && len(d.Causes) == 0 && d.RetryAfterSeconds == 0 {
		return nil
	}
	return d
}

// internalErrorPrefix starts the message of every 500 InternalError.
const internalErrorPrefix = "Internal error occurred: "

// Messages of the server's own answers, over HTTP and gRPC.
const (
	// msgInternal answers an error that wraps no api sentinel; its
	// details go to the log only.
	msgInternal = internalErrorPrefix + "the server could not serve the request"
	// msgNoSuchResource answers a request for a resource not served.
	msgNoSuchResource = "the server could not find the requested resource"
)

// namelessCode reports whether a Status with code does not name the
// request's object in its details, as in kube-apiserver: a bad request or
// option, a body too large or in a media type not accepted, and an
// internal error.
func namelessCode(code int) bool {
	switch code {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusInternalServerError,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return true
	}
	return false
}

// retryAfterSeconds is the delay a client should wait before retrying:
// the error's own, else 1 s for a not-ready cache and a too large RV.
func retryAfterSeconds(rule statusRule, e *api.Error) int {
	if e.RetryAfterSeconds > 0 {
		return e.RetryAfterSeconds
	}
	if rule.code == http.StatusTooManyRequests || errors.Is(e, api.ErrTooLargeRV) {
		return 1
	}
	return 0
}

// invalidCause turns an ErrInvalid message "<field>: <Type>: <detail>" into
// a field cause with kube-apiserver's cause type.
func invalidCause(e *api.Error) metav1.StatusCause {
	msg := e.Message
	if i := strings.Index(msg, e.Field+": "); i >= 0 {
		// Also past a prefix naming the object: `pods "a" is invalid: `.
		msg = msg[i+len(e.Field)+2:]
	}
	typ := metav1.CauseTypeFieldValueInvalid
	switch {
	case strings.HasPrefix(msg, "Forbidden:"):
		typ = metav1.CauseTypeForbidden
	case strings.HasPrefix(msg, "Unsupported value:"):
		typ = metav1.CauseTypeFieldValueNotSupported
	case strings.HasPrefix(msg, "Required value"):
		typ = metav1.CauseTypeFieldValueRequired
	}
	return metav1.StatusCause{Type: typ, Message: msg, Field: e.Field}
}

// fieldCauses are the Status causes of an error's field errors.
func fieldCauses(cs []api.Cause) []metav1.StatusCause {
	out := make([]metav1.StatusCause, len(cs))
	for i, c := range cs {
		out[i] = metav1.StatusCause{Type: metav1.CauseType(c.Type), Message: c.Message, Field: c.Field}
	}
	return out
}

// newStatus builds a Status the server raises itself (no api error).
func newStatus(code int, reason metav1.StatusReason, msg string) *metav1.Status {
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  msg,
		Reason:   reason,
		Code:     int32(code),
	}
}

func internalErrorStatus() *metav1.Status {
	return newStatus(http.StatusInternalServerError, metav1.StatusReasonInternalError, msgInternal)
}

// writeError writes the Status for err as the whole response.
func writeError(w http.ResponseWriter, log *slog.Logger, err error, req *request) {
	wire := wireJSON
	if req != nil {
		wire = req.statusWire
	}
	writeStatusAs(w, errorStatus(log, err, req), wire)
}

// writeStatus writes st as the whole response in JSON, with Retry-After
// when the status asks the client to wait.
func writeStatus(w http.ResponseWriter, st *metav1.Status) { writeStatusAs(w, st, wireJSON) }

// writeStatusAs is writeStatus in the format wire.
func writeStatusAs(w http.ResponseWriter, st *metav1.Status, wire wireFormat) {
	if st.Details != nil && st.Details.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(st.Details.RetryAfterSeconds)))
	}
	if wire == wireProtobuf {
		if doc, err := kubeproto.Status(st); err == nil {
			writeBodyAs(w, nil, int(st.Code), kubeproto.MediaType, doc)
			return
		}
	}
	writeJSONValue(w, int(st.Code), st)
}

func writeNotFound(w http.ResponseWriter) {
	writeStatus(w, newStatus(http.StatusNotFound, metav1.StatusReasonNotFound, msgNoSuchResource))
}

func writeMethodNotAllowed(w http.ResponseWriter) {
	writeStatus(w, newStatus(http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
		"the server does not allow this method on the requested resource"))
}
