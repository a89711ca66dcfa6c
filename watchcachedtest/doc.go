// Package watchcachedtest runs a watchcached in-process for the tests of
// controllers and other Kubernetes clients: a lighter stand-in for
// controller-runtime's envtest, which needs kube-apiserver and etcd
// binaries on the machine.
//
// Start runs the daemon on its own embedded etcd in the test's temporary
// directory, serving kube-apiserver's built-in resources (the `kube`
// catalogue) with writes stored in that etcd, waits until every cache is
// ready and returns a *rest.Config for it. The daemon stops, and its
// goroutines end, when the test's cleanup runs.
//
//	func TestReconcile(t *testing.T) {
//		cfg := watchcachedtest.Start(t, watchcachedtest.Options{})
//		cs := kubernetes.NewForConfigOrDie(cfg)
//		// ... create objects, run the controller, assert.
//	}
//
// What differs from a kube-apiserver: there is no admission chain, no
// garbage collector and no controllers (a Deployment never gets
// ReplicaSets), and authentication is off; see the project's docs for the
// served API.
package watchcachedtest
