// Package client is a small Go client of watchcached's gRPC API
// (watchcached.v1.WatchCache): thin wrappers around the generated stubs
// that turn gRPC statuses back into the api package's errors, so that a
// caller tests them with the same sentinels as in-process code
// (errors.Is(err, api.ErrExpired)), and a typed reader for watch streams.
//
// It is not a cache and not an informer: it does not retry, relist or
// resume watches; a caller that wants that reads the RetryAfterSeconds and
// Continue of the *api.Error it gets and acts on them. Objects stay JSON
// bytes: decoding them is the caller's choice of types.
package client
