package upstream

import (
	"context"
	"errors"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/watchcached/watchcached/api"
)

// The upstream's answers become api errors in one table: its Status keeps
// its message (and retry delay, and replacement continue token), and its
// reason decides the sentinel. A request that got no answer is
// ErrUnavailable.

// sentinelOf is the api sentinel of a Status.
func sentinelOf(st metav1.Status) error {
	switch st.Reason {
	case metav1.StatusReasonNotFound:
		return api.ErrNotFound
	case metav1.StatusReasonAlreadyExists:
		return api.ErrAlreadyExists
	case metav1.StatusReasonConflict:
		return api.ErrConflict
	case metav1.StatusReasonExpired, metav1.StatusReasonGone:
		return api.ErrExpired
	case metav1.StatusReasonInvalid:
		return api.ErrInvalid
	case metav1.StatusReasonBadRequest:
		return api.ErrBadRequest
	case metav1.StatusReasonUnauthorized:
		return api.ErrUnauthorized
	case metav1.StatusReasonForbidden:
		return api.ErrForbidden
	case metav1.StatusReasonMethodNotAllowed:
		return api.ErrMethodNotAllowed
	case metav1.StatusReasonUnsupportedMediaType:
		return api.ErrUnsupportedMediaType
	case metav1.StatusReasonRequestEntityTooLarge:
		return api.ErrTooLarge
	case metav1.StatusReasonTooManyRequests:
		return api.ErrNotReady
	case metav1.StatusReasonTimeout:
		if hasCause(st, metav1.CauseTypeResourceVersionTooLarge) {
			return api.ErrTooLargeRV
		}
		return api.ErrTimeout
	}
	switch st.Code {
	case http.StatusGone:
		return api.ErrExpired
	case http.StatusNotFound:
		return api.ErrNotFound
	case http.StatusTooManyRequests:
		return api.ErrNotReady
	case http.StatusGatewayTimeout:
		return api.ErrTimeout
	}
	if st.Code >= 400 && st.Code < 500 {
		return api.ErrBadRequest
	}
	return api.ErrUnavailable
}

func hasCause(st metav1.Status, t metav1.CauseType) bool {
	if st.Details == nil {
		return false
	}
	for _, c := range st.Details.Causes {
		if c.Type == t {
			return true
		}
	}
	return false
}

// mapErr turns an error of the REST client into an api error. A context
// error of the caller stays what it is.
func mapErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return ctx.Err()
	}
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return api.Errorf(api.ErrUnavailable, "upstream unreachable: %v", err)
	}
	return statusError(se.Status())
}

// statusError is the api error a Status shows.
func statusError(st metav1.Status) error {
	e := &api.Error{Err: sentinelOf(st), Message: st.Message, Continue: st.Continue}
	if st.Details != nil {
		e.RetryAfterSeconds = int(st.Details.RetryAfterSeconds)
		e.Name, e.Group, e.Kind = st.Details.Name, st.Details.Group, st.Details.Kind
		if e.Err == api.ErrInvalid {
			for _, c := range st.Details.Causes {
				e.Causes = append(e.Causes, api.Cause{Type: string(c.Type), Field: c.Field, Message: c.Message})
			}
		}
		if e.Err == api.ErrTooLargeRV {
			e.Cause = string(metav1.CauseTypeResourceVersionTooLarge)
		}
	}
	if e.Message == "" {
		e.Message = "the upstream answered " + http.StatusText(int(st.Code))
	}
	return e
}

// retryable reports whether a failed request is worth sending again: the
// upstream was not reached, was overloaded (429) or failed (5xx, but not
// a 504 about a resource version it has not reached).
func retryable(err error) bool {
	return errors.Is(err, api.ErrUnavailable) || errors.Is(err, api.ErrNotReady) || errors.Is(err, api.ErrTimeout)
}
