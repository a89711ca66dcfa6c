// Package server is watchcached's HTTP frontend: it speaks the wire protocol
// of kube-apiserver (REST paths, discovery, Status errors, chunked watch
// streams) over any api.Storage, one storage per resource, plus health
// endpoints and Prometheus metrics.
//
// It is not a cache and holds no object state: every request is handed to
// the storage of its resource, which is either the direct etcd store or the
// watch cache. The server never decodes or re-encodes a served object. Lists
// are assembled by concatenating each object's Raw JSON, and a watch event
// is framed around the event object's Raw bytes, so a 10,000-item list costs
// little more than copying its bytes and an event costs the same for every
// watcher.
//
// The main trade-off is that fidelity to kube-apiserver is limited to what
// clients observe: JSON responses (protobuf request bodies of built-in kinds
// are converted on arrival; no table output), no subresources,
// no field managers or server-side apply. Errors are translated from the api
// sentinels to Kubernetes Status objects in exactly one table (status.go).
package server
