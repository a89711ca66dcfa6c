package api

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every layer returns errors that wrap exactly one of
// these (usually through *Error, which adds what a client needs to see);
// callers test them with errors.Is. The server maps them to Kubernetes
// Status codes and gRPC codes in one table.
var (
	// ErrNotFound: the object does not exist. Not retryable.
	ErrNotFound = errors.New("api: not found")
	// ErrAlreadyExists: a create named an existing object. Not retryable.
	ErrAlreadyExists = errors.New("api: already exists")
	// ErrConflict: a precondition (resourceVersion, uid) did not hold. Re-read
	// and retry with the current state.
	ErrConflict = errors.New("api: conflict")
	// ErrExpired: the requested resourceVersion is older than what the
	// cache's history or etcd (compaction) still holds. Relist from a newer
	// resourceVersion (or with the replacement continue token, if any).
	ErrExpired = errors.New("api: resource version too old")
	// ErrTooLargeRV: the requested resourceVersion was not reached in time.
	// Retry after Error.RetryAfterSeconds.
	ErrTooLargeRV = errors.New("api: resource version too large")
	// ErrNotReady: the cache is (re)initializing. Retry after
	// Error.RetryAfterSeconds.
	ErrNotReady = errors.New("api: storage not ready")
	// ErrInvalid: an option or object field is invalid (Error.Field names
	// it); HTTP 422. Fix the request.
	ErrInvalid = errors.New("api: invalid")
	// ErrBadRequest: a malformed parameter or body; HTTP 400. Fix the request.
	ErrBadRequest = errors.New("api: bad request")
	// ErrUnavailable: etcd cannot be reached. Retry later.
	ErrUnavailable = errors.New("api: storage unavailable")
	// ErrTimeout: the operation did not finish in time. Retry later.
	ErrTimeout = errors.New("api: timeout")
	// ErrCorrupt: the value stored for the object does not decode
	// (Error.Message names its etcd key); HTTP 500 InternalError. Not
	// retryable: the value stays until a delete with
	// DeleteOptions.IgnoreStoreReadError removes it (CorruptDeleter).
	ErrCorrupt = errors.New("api: corrupt object")
	// ErrUnsupportedMediaType is a body in a media type (for a patch, a
	// patch type) the resource does not accept; HTTP 415.
	ErrUnsupportedMediaType = errors.New("api: unsupported media type")
	// ErrTooLarge is a request too large to carry out (a JSON patch of
	// too many operations); HTTP 413.
	ErrTooLarge = errors.New("api: request entity too large")
	// ErrUnauthorized: the request carried no valid credentials (and
	// anonymous access is off); HTTP 401. Retry with credentials.
	ErrUnauthorized = errors.New("api: unauthorized")
	// ErrForbidden: authorization refused the request (403 Forbidden).
	ErrForbidden = errors.New("api: forbidden")
	// ErrInternal: the storage refused the request for a reason
	// kube-apiserver answers as a bare 500 with no Status reason (a create
	// that carries metadata.resourceVersion). Fix the request.
	ErrInternal = errors.New("api: internal error")
	// ErrMethodNotAllowed: the server does not carry out this kind of
	// request (a write under --write-mode=reject, or over gRPC under
	// forward); HTTP 405. Send it to kube-apiserver instead.
	ErrMethodNotAllowed = errors.New("api: method not allowed")
)

// Error is an error a client will see: one sentinel (Err) plus the message
// and the details a Kubernetes Status carries. It is a plain value, safe to
// share.
type Error struct {
	// Err is the sentinel this error is (errors.Is matches it).
	Err error
	// Message is the human-readable message, as kube-apiserver words it.
	Message string
	// Field names the offending field or parameter of ErrInvalid and
	// ErrBadRequest, if any.
	Field string
	// Cause is a machine-readable cause type, e.g. "ResourceVersionTooLarge".
	Cause string
	// RetryAfterSeconds, when > 0, is the delay a client should wait.
	RetryAfterSeconds int
	// Continue, for ErrExpired on a continue token, is the replacement token.
	Continue string
	// Causes are the field errors of an ErrInvalid that has several or
	// names its object (Status.details.causes, one per field error).
	Causes []Cause
	// Kind, Group and Name, when Kind is set, name the object in
	// Status.details the way kube-apiserver's Invalid does: by its kind
	// (not its resource).
	Kind, Group, Name string
	// NoObject leaves the request's object out of Status.details, as
	// kube-apiserver's apply conflict does.
	NoObject bool
}

// Cause is one field error of an ErrInvalid: a Kubernetes cause type
// (e.g. "FieldValueInvalid"), the field path and the message without the
// field.
type Cause struct {
	Type, Field, Message string
}

// Errorf builds an *Error for sentinel with a formatted message.
func Errorf(sentinel error, format string, args ...any) *Error {
	return &Error{Err: sentinel, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// InvalidField is ErrInvalid for one field: message "<field>: Invalid value:
// <value>: <detail>" as kube-apiserver's validation words it.
func InvalidField(field string, value any, detail string) *Error {
	return &Error{
		Err:     ErrInvalid,
		Field:   field,
		Message: fmt.Sprintf("%s: Invalid value: %q: %s", field, fmt.Sprint(value), detail),
	}
}

// ForbiddenField is ErrInvalid for a field that may not be set: message
// "<field>: Forbidden: <detail>".
func ForbiddenField(field, detail string) *Error {
	return &Error{Err: ErrInvalid, Field: field, Message: fmt.Sprintf("%s: Forbidden: %s", field, detail)}
}

// BadParam is ErrBadRequest naming a query parameter.
func BadParam(param, format string, args ...any) *Error {
	return &Error{Err: ErrBadRequest, Field: param, Message: fmt.Sprintf(format, args...)}
}
