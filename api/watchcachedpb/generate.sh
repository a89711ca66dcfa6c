#!/bin/sh
# Regenerates watchcached.pb.go and watchcached_grpc.pb.go from
# watchcached.proto. Run through `go generate ./api/watchcachedpb/`.
#
# Prerequisites: protoc with the well-known .proto files
# (Debian: apt-get install protobuf-compiler libprotobuf-dev; tested with
# 3.21.12). The Go plugins are pinned here and built by `go build` from
# the module cache, so the output depends only on these versions.
set -eu
cd "$(dirname "$0")"
PROTOC_GEN_GO=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
PROTOC_GEN_GO_GRPC=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN="$bin" go install "$PROTOC_GEN_GO"
GOBIN="$bin" go install "$PROTOC_GEN_GO_GRPC"
protoc \
	--plugin=protoc-gen-go="$bin/protoc-gen-go" \
	--plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	watchcached.proto
