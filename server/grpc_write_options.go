package server

import (
	"context"
	"net/url"

	"google.golang.org/grpc/metadata"

	"github.com/watchcached/watchcached/api"
)

// The options of a gRPC write (B210-B212) travel in request metadata, so
// that the messages stay as they are: GRPCDryRunKey (any number of values,
// each All, as the query's dryRun), GRPCFieldManagerKey and
// GRPCFieldValidationKey. They are validated as over HTTP (the same 422
// messages, as INVALID_ARGUMENT), and the manager defaults to the prefix
// of the caller's user-agent.
const (
	GRPCDryRunKey          = "watchcached-dry-run"
	GRPCFieldManagerKey    = "watchcached-field-manager"
	GRPCFieldValidationKey = "watchcached-field-validation"
)

// grpcWriteContext returns ctx carrying the options of a write with verb
// named in ctx's metadata.
func grpcWriteContext(ctx context.Context, verb string) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	q := url.Values{}
	if v := md.Get(GRPCDryRunKey); len(v) > 0 {
		q["dryRun"] = v
	}
	if v := md.Get(GRPCFieldManagerKey); len(v) > 0 {
		q.Set("fieldManager", v[0])
	}
	if v := md.Get(GRPCFieldValidationKey); len(v) > 0 {
		q.Set("fieldValidation", v[0])
	}
	var ua string
	if v := md.Get("user-agent"); len(v) > 0 {
		ua = v[0]
	}
	if verb == verbDelete {
		if err := validateDryRun(q["dryRun"]); err != nil {
			return ctx, err
		}
		return api.WithWriteOptions(ctx, api.WriteOptions{DryRun: len(q["dryRun"]) > 0}), nil
	}
	o, err := writeOptions(q, verb, api.MergePatch, ua)
	if err != nil {
		return ctx, err
	}
	return api.WithWriteOptions(ctx, o), nil
}
