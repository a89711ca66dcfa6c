// Package e2e runs real Kubernetes clients against a whole watchcached
// daemon (cmd/watchcached/app) over HTTP: client-go's typed and dynamic
// clients, its informers in both list modes (WatchList with
// sendInitialEvents, and the classic LIST then WATCH), its pager and
// reflector, kubectl (the binary on PATH), and raw net/http checks of the
// wire format. Each test starts its own daemon on a fresh embedded etcd and
// asserts exact outcomes: the events each informer handler saw per object
// (its sequence of resourceVersions), the requests that reached the server
// (from /metrics), the Status bodies of errors.
//
// What this package is not: a conformance suite for the storage semantics
// (that is test/conformance, run against etcdstore and cacher) nor a load
// test (cmd/watchcached-bench). It proves that unmodified clients work.
//
// kubectl: the tests skip with an install hint when no kubectl is on PATH,
// except when the CI environment variable is set, where they fail.
package e2e
