// Package app assembles the watchcached daemon: configuration and its
// validation, the resource list (built in or from a YAML file), the etcd
// connection (an embedded etcd by default, an external cluster with TLS
// when given), one storage per resource, and the HTTP server, with a
// graceful shutdown that leaves no goroutine behind.
//
// It is a package rather than code in main so that tests, including the
// end-to-end tests in test/, can start and stop a whole daemon in-process
// on loopback ports. It holds no logic of its own beyond wiring: what a
// request does is decided by the server, the cache and the store.
//
// The trade-off: Start does everything synchronously (etcd, storages,
// listener) and fails as a whole, so a Daemon that exists is serving; a
// partial start is undone before Start returns.
package app
