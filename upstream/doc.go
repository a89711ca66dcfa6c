// Package upstream follows one resource of a kube-apiserver (or of any
// server that speaks its REST protocol, another watchcached included) by
// list and watch, and offers it to a cacher.Cacher as its Source.
//
// Objects are requested as JSON and kept as the bytes the upstream sent
// (compacted); only metadata, labels and the resource's selectable fields
// are decoded beside them. Resource versions are the upstream's own, so
// every resourceVersion rule of the cache holds unchanged.
//
// The package depends on api and client-go's REST client only: it knows
// nothing of etcd or of the cache's internals.
package upstream
