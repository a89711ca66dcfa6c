// Package watchcachedpb holds watchcached's gRPC API: the service
// watchcached.v1.WatchCache (watchcached.proto) and the Go code generated
// from it, committed so that building needs no protoc.
//
// It is generated code plus this file; the server lives in package server
// and a typed client in api/client. Regenerate after editing the .proto:
//
//	go generate ./api/watchcachedpb/
//
// which runs generate.sh: protoc (Debian: protobuf-compiler and
// libprotobuf-dev) with protoc-gen-go v1.36.11 and protoc-gen-go-grpc
// v1.6.2, both pinned in the script.
package watchcachedpb

//go:generate sh generate.sh
