// Package server holds watchcached's two frontends over the same
// api.Storage per resource: an HTTP frontend that speaks the wire protocol
// of kube-apiserver (REST paths, discovery, Status errors, chunked watch
// streams, health endpoints, Prometheus metrics; http_*.go) and a gRPC
// frontend, the watchcached.v1.WatchCache service with the standard health
// and reflection services (grpc_*.go, docs/grpc.md).
//
// Both stand on one core (core_*.go), so that they answer every request
// alike: a request is resolved into resource, namespace, name and verb
// (core_request.go); its parameters, read from the URL query or from the
// request message, fill one neutral query that yields the storage's list
// and watch options with one validation (core_query.go); one rule bounds
// every non-watch request and sets a watch's duration (core_timeout.go);
// and one stream loop serves every watch (core_stream.go): setup, events,
// bookmark filtering, the clean end, errors and metrics, writing through
// the frontend's encoder (HTTP frames or gRPC messages). The storage is the
// only validator of written objects. Errors are translated from the api
// sentinels, for HTTP and gRPC, in exactly one table (status.go); their
// messages are built once, in api or here.
//
// The server is not a cache and holds no object state: every request is
// handed to the storage of its resource, which is either the direct etcd
// store or the watch cache. The server never decodes or re-encodes a
// served object. Lists are assembled by concatenating each object's Raw
// JSON, and a watch event is framed around the event object's Raw bytes
// (over gRPC, the same bytes are the message's object field), so a
// 10,000-item list costs little more than copying its bytes and an event
// costs the same for every watcher.
//
// The main trade-off is that fidelity to kube-apiserver is limited to what
// clients observe: JSON responses (protobuf request bodies of built-in kinds
// are converted on arrival; no table output), no subresources, no field
// managers or server-side apply.
package server
