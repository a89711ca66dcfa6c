package server

import (
	"context"
	"fmt"

	"github.com/watchcached/watchcached/api"
)

// The frontend core: what the HTTP frontend (http_*.go) and the gRPC
// frontend (grpc_*.go) share. Each frontend reads its wire form into a
// request (this file) and a query (core_query.go), runs the storage call
// under the one timeout rule (core_timeout.go) and, for a watch, hands its
// encoder to the one stream loop (core_stream.go). Errors go through the
// one status table (status.go).

// The verbs of requests to resources, as kube-apiserver's request metrics
// name them.
const (
	verbList   = "LIST"
	verbWatch  = "WATCH"
	verbGet    = "GET"
	verbCreate = "CREATE"
	verbUpdate = "UPDATE"
	verbPatch  = "PATCH"
	verbDelete = "DELETE"
	// verbDeleteCollection is a DELETE of a collection (B102).
	verbDeleteCollection = "DELETECOLLECTION"
)

// request is a resolved request to a resource. Read-only once built.
type request struct {
	entry     *resourceEntry
	namespace string // "" for cluster-scoped resources and cluster-wide lists
	name      string // "" for collection requests
	verb      string
	// subresource is "status" or "scale" for a request to an object's
	// subresource (B220-B223), "" otherwise.
	subresource string
	// wire and statusWire are the formats of an HTTP response's objects
	// and of its Status (negotiate); JSON over gRPC.
	wire, statusWire wireFormat
	// bypass: a read with ?cache=false, served by entry.uncached (or by
	// the upstream, ForwardUncachedReads) instead of the cache.
	bypass bool
}

// storage is what serves req: the cache's source for a read that
// bypasses it, else the resource's storage.
func (req *request) storage() api.Storage {
	if req.bypass && req.entry.uncached != nil {
		return req.entry.uncached
	}
	return req.entry.storage
}

// cached reports whether req is served from a cache (the metrics' cache
// label): a read of a cached resource that does not bypass it.
func (req *request) cached() bool {
	return !req.bypass && req.entry.uncached != nil && !isWrite(req.verb)
}

// newRequest checks the namespace and name a request gives and builds it.
// namespaced says that the request named a namespace (an empty one is
// refused), object that it is about one object (its name is checked).
// Which scope a resource allows is the frontend's to answer (HTTP: 404 for
// a path that names nothing; gRPC: INVALID_ARGUMENT).
func newRequest(e *resourceEntry, verb, namespace, name string, namespaced, object bool) (*request, error) {
	if namespaced {
		if err := api.ValidateName("namespace", namespace); err != nil {
			return nil, err
		}
	}
	if object {
		if err := api.ValidateName("name", name); err != nil {
			return nil, err
		}
	}
	return &request{entry: e, namespace: namespace, name: name, verb: verb}, nil
}

// groupVersion joins a group ("" for the core group) and a version.
func groupVersion(group, version string) string {
	if group == "" {
		return version
	}
	return group + "/" + version
}

// tooLargeMessage is the message of a body over MaxBodyBytes: 413 over
// HTTP, RESOURCE_EXHAUSTED over gRPC.
func tooLargeMessage(limit int64) string {
	return fmt.Sprintf("Request entity too large: limit is %d", limit)
}

func isWrite(verb string) bool {
	return verb == verbCreate || verb == verbUpdate || verb == verbPatch || verb == verbDelete ||
		verb == verbDeleteCollection
}

// get runs the Get of req under the request timeout.
func (req *request) get(ctx context.Context, q *query) (*api.Object, error) {
	opts, err := q.getOptions()
	if err != nil {
		return nil, err
	}
	ctx, cancel := requestContext(ctx, q.timeoutSeconds)
	defer cancel()
	return req.storage().Get(ctx, req.namespace, req.name, opts)
}

// list runs the List of req under the request timeout: StreamList where
// the storage has it, as every frontend walks the result only once.
func (req *request) list(ctx context.Context, q *query) (*api.List, error) {
	opts, err := q.listOptions(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := requestContext(ctx, q.timeoutSeconds)
	defer cancel()
	if sl, ok := req.storage().(api.StreamLister); ok {
		return sl.StreamList(ctx, opts)
	}
	return req.storage().List(ctx, opts)
}

// write runs the create, update or patch of req with body under the
// request timeout; pt is how a patch body applies (unused otherwise). The
// storage alone checks the body and the patch type.
func (req *request) write(ctx context.Context, body []byte, pt api.PatchType, timeoutSeconds int64) (*api.Object, error) {
	ctx, cancel := requestContext(ctx, timeoutSeconds)
	defer cancel()
	st := req.entry.storage
	switch req.verb {
	case verbCreate:
		return st.Create(ctx, req.namespace, body)
	case verbUpdate:
		return st.Update(ctx, req.namespace, req.name, body)
	case verbPatch:
		return st.Patch(ctx, req.namespace, req.name, api.Patch{Type: pt, Data: body})
	}
	return nil, fmt.Errorf("server: %s is not a write with a body", req.verb)
}

// delete runs the Delete of req under the request timeout.
func (req *request) delete(ctx context.Context, pre api.Preconditions, timeoutSeconds int64) (*api.Object, error) {
	ctx, cancel := requestContext(ctx, timeoutSeconds)
	defer cancel()
	return req.entry.storage.Delete(ctx, req.namespace, req.name, pre)
}
