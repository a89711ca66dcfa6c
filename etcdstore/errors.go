package etcdstore

import (
	"context"
	"errors"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/watchcached/watchcached/api"
)

// ErrUndecodable is wrapped by Decode's errors: the stored value is not an
// object of this resource. Such values are treated as absent (B62); the
// error never reaches a client.
var ErrUndecodable = errors.New("etcdstore: value does not decode")

// mapErr turns an error of the etcd client into an *api.Error a client
// can be shown: a request over etcd's size limit is ErrBadRequest ("request
// is too large"), a deadline or cancellation is ErrTimeout, anything else
// (no leader, unreachable, stopped) is ErrUnavailable. Errors that already
// wrap an api sentinel pass through.
func mapErr(err error) error {
	if err == nil || api.AsError(err) != nil {
		return err
	}
	switch {
	case errors.Is(err, rpctypes.ErrRequestTooLarge), errors.Is(err, rpctypes.ErrGRPCRequestTooLarge),
		status.Code(err) == codes.ResourceExhausted && strings.Contains(err.Error(), "larger than max"):
		return api.Errorf(api.ErrBadRequest, "request is too large")
	case errors.Is(err, context.DeadlineExceeded), status.Code(err) == codes.DeadlineExceeded,
		errors.Is(err, rpctypes.ErrTimeout), errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail),
		errors.Is(err, rpctypes.ErrTimeoutDueToConnectionLost):
		return api.Errorf(api.ErrTimeout, "etcd request timed out: %v", err)
	case errors.Is(err, context.Canceled), status.Code(err) == codes.Canceled:
		return api.Errorf(api.ErrTimeout, "etcd request canceled: %v", err)
	default:
		return api.Errorf(api.ErrUnavailable, "etcd is unavailable: %v", err)
	}
}
